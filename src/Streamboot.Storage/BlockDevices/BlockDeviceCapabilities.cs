namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// What a layer supports, so a protocol can advertise it (NBD transmission
/// flags NBD_FLAG_READ_ONLY, SEND_TRIM, SEND_WRITE_ZEROES, SEND_FUA, SEND_FLUSH).
/// </summary>
[Flags]
public enum BlockDeviceCapabilities
{
    None = 0,

    /// <summary>Writes, trims and write-zeroes are refused.</summary>
    ReadOnly = 1 << 0,

    /// <summary>Trim deallocates space (otherwise it is accepted and only zeroes).</summary>
    CanTrim = 1 << 1,

    /// <summary>Write-zeroes is cheaper than writing a buffer of zeroes.</summary>
    CanZero = 1 << 2,

    /// <summary>Per-write force-unit-access is honoured.</summary>
    CanFua = 1 << 3,

    /// <summary>Flush does something (the layer keeps data that can be lost).</summary>
    CanFlush = 1 << 4,

    /// <summary>Extents say more than "everything is data".</summary>
    CanExtents = 1 << 5,

    /// <summary>Several requests may run at once on this layer.</summary>
    CanMultiConn = 1 << 6,
}
