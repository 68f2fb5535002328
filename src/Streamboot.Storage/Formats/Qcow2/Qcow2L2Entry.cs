namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>
/// Bit layout of L1 and L2 table entries (qcow2.txt "Cluster mapping").
/// L1 entry: bits 9-55 L2 table offset, bit 63 COPIED. Standard L2 entry:
/// bit 0 reads-as-zero (v3), bits 9-55 host cluster offset, bit 62
/// compressed, bit 63 COPIED (refcount is exactly one, may be written in place).
/// </summary>
internal static class Qcow2L2Entry
{
    public const ulong Copied = 1UL << 63;
    public const ulong Compressed = 1UL << 62;
    public const ulong ZeroFlag = 1UL;
    public const ulong OffsetMask = 0x00ff_ffff_ffff_fe00UL;

    /// <summary>Bits that must be zero in a standard L2 entry: 1-8 and 56-61.</summary>
    public const ulong StandardReservedMask = 0x3f00_0000_0000_01feUL;

    /// <summary>Bits that must be zero in an L1 entry: 0-8 and 56-62.</summary>
    public const ulong L1ReservedMask = 0x7f00_0000_0000_01ffUL;

    public static bool IsCompressed(ulong entry) => (entry & Compressed) != 0;

    public static bool ReadsAsZero(ulong entry) => (entry & (Compressed | ZeroFlag)) == ZeroFlag;

    public static long HostOffset(ulong entry) => (long)(entry & OffsetMask);

    /// <summary>In place means: allocated, not compressed, not a zero cluster, refcount one.</summary>
    public static bool IsWritableInPlace(ulong entry) =>
        (entry & (Copied | Compressed | ZeroFlag)) == Copied && (entry & OffsetMask) != 0;
}
