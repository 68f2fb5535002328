namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// What every session of one target shares about its logical unit: the
/// write cache setting of the caching mode page, SPC-2 reservations and
/// persistent reservations. Kept by the server per target name for as long
/// as a session of it is open.
/// </summary>
internal sealed class UnitState
{
    public UnitState(string targetName) => TargetName = targetName;

    public string TargetName { get; }

    /// <summary>Caching mode page WCE (SBC-3 6.5.5): write-back; off makes every write FUA.</summary>
    public bool WriteCacheEnabled { get; set; } = true;

    /// <summary>The nexus holding an SPC-2 RESERVE(6)/(10) reservation, if any.</summary>
    public string? Spc2Holder { get; set; }

    public PersistentReservations Persistent { get; } = new();

    /// <summary>Sessions holding this state (the server drops it when the last one ends).</summary>
    public int References { get; set; }

    public object Lock { get; } = new();
}
