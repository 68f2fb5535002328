namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// State of an extent, bit for bit NBD's "base:allocation" context
/// (NBD_STATE_HOLE = 1, NBD_STATE_ZERO = 2) so protocols pass it through.
/// </summary>
[Flags]
public enum ExtentFlags
{
    /// <summary>Allocated data.</summary>
    Data = 0,

    /// <summary>No storage is allocated for the extent.</summary>
    Hole = 1 << 0,

    /// <summary>The extent reads as zeroes.</summary>
    Zero = 1 << 1,
}
