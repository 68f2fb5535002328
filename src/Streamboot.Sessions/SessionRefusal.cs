namespace Streamboot.Sessions;

/// <summary>Why the session layer said no: logged with the refusal, and mapped to each protocol's own error in one place per protocol.</summary>
public enum SessionRefusal
{
    /// <summary>The name asked for is not of the form VDISK, VDISK/DEVICE or VDISK/DEVICE/KEY.</summary>
    BadName,

    UnknownVDisk,

    UnknownDevice,

    DeviceDisabled,

    /// <summary>The device is not assigned the vDisk, or its key is for another vDisk.</summary>
    NotAssigned,

    /// <summary>The vDisk has no version this view (or this device's type) may read.</summary>
    NoVersion,

    /// <summary>The vDisk refuses its anonymous read-only view.</summary>
    AnonymousReadsOff,

    /// <summary>A device view asked for without the boot's key.</summary>
    KeyRequired,

    /// <summary>The key is not one of the device's boots (a newer boot started, or it was never issued).</summary>
    KeyRejected,

    /// <summary>The device's boot is streaming to another machine now.</summary>
    IdentityInUse,

    /// <summary>A new boot would take over from a boot of another machine that was streaming moments ago.</summary>
    PreviousBootRunning,

    /// <summary>
    /// The device's session is still live on another server of the farm (its
    /// client is failing over from it): temporary, the client tries again.
    /// </summary>
    HeldElsewhere,

    /// <summary>
    /// The device's session was just moved off this server (rebalancing):
    /// temporary, its client continues on another server of its list.
    /// </summary>
    MovedAway,

    /// <summary>The boot wrote into server RAM, which a server restart lost.</summary>
    RamCacheLost,

    /// <summary>
    /// A replicated store: this server's copy of the version (or of one
    /// below it) is not verified (missing, being copied, or corrupt); another
    /// server of the farm serves it.
    /// </summary>
    NotReplicated,

    /// <summary>The vDisk's files cannot be opened.</summary>
    StorageFailed,

    /// <summary>The database or another server said no at the last moment (a race a retry resolves).</summary>
    Conflict,
}
