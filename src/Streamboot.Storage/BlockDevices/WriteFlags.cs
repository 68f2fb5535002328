namespace Streamboot.Storage.BlockDevices;

/// <summary>Per-request flags, named after NBD's command flags.</summary>
[Flags]
public enum WriteFlags
{
    None = 0,

    /// <summary>NBD_CMD_FLAG_FUA: durable before the request completes.</summary>
    ForceUnitAccess = 1 << 0,

    /// <summary>The inverse of NBD_CMD_FLAG_NO_HOLE: write-zeroes may deallocate.</summary>
    MayTrim = 1 << 1,
}
