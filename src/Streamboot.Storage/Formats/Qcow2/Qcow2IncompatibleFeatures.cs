namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>The header's incompatible_features bits (docs/interop/qcow2.txt, bytes 72-79).</summary>
[Flags]
public enum Qcow2IncompatibleFeatures : ulong
{
    None = 0,

    /// <summary>Bit 0: refcounts may be stale (lazy refcounts, not closed cleanly).</summary>
    Dirty = 1UL << 0,

    /// <summary>Bit 1: qemu found corruption; the image must not be written.</summary>
    Corrupt = 1UL << 1,

    /// <summary>Bit 2: guest data lives in an external data file.</summary>
    ExternalDataFile = 1UL << 2,

    /// <summary>Bit 3: the compression_type field is valid.</summary>
    CompressionType = 1UL << 3,

    /// <summary>Bit 4: L2 entries are 128 bits with subcluster bitmaps.</summary>
    ExtendedL2 = 1UL << 4,
}
