namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// Why a request failed, so the protocol maps it to its own error code in one
/// place (NBD: EPERM, EINVAL, ENOSPC, EIO; SCSI: sense keys).
/// </summary>
public enum BlockDeviceError
{
    /// <summary>Reading or writing the backing storage failed.</summary>
    Io,

    /// <summary>A write, trim or zero reached a read-only layer.</summary>
    ReadOnly,

    /// <summary>The request is outside the device.</summary>
    OutOfRange,

    /// <summary>A bounded cache or disk is full.</summary>
    NoSpace,

    /// <summary>An image's metadata is damaged or unsupported; the device should be closed.</summary>
    Corrupt,

    /// <summary>
    /// The session moved to another server (rebalancing): not an error of
    /// the request. A front end drops the connection without a reply, so the
    /// client reconnects (and resends it) elsewhere; an error reply would
    /// reach the client's OS as a failed write.
    /// </summary>
    Moved,
}
