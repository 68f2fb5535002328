namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// The limits the logical unit states in its Block Limits VPD page (SBC-3
/// 6.6.4) and keeps to: what a single command may ask of it.
/// </summary>
internal static class UnitLimits
{
    /// <summary>MAXIMUM COMPARE AND WRITE LENGTH.</summary>
    public const byte MaxCompareAndWriteBlocks = 255;

    /// <summary>VERIFY with BYTCHK 1 compares at most this many blocks at once (its data is held whole).</summary>
    public const uint MaxVerifyBlocks = 4096;

    /// <summary>MAXIMUM UNMAP LBA COUNT: 512 MiB per descriptor.</summary>
    public const uint MaxUnmapBlocks = 1u << 20;

    /// <summary>MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT.</summary>
    public const uint MaxUnmapDescriptors = 256;

    /// <summary>MAXIMUM WRITE SAME LENGTH: 1 GiB (a pattern other than zeroes is written out block by block).</summary>
    public const ulong MaxWriteSameBlocks = 1u << 21;

    /// <summary>GET LBA STATUS descriptors returned at most (the initiator asks again from where they end).</summary>
    public const int MaxLbaStatusDescriptors = 64;
}
