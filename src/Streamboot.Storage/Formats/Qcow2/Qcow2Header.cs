using System.Buffers.Binary;
using System.Text;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>
/// The qcow2 header (docs/interop/qcow2.txt "Header"), all fields big-endian,
/// with the header extensions and the backing file name that follow it in the
/// first cluster. Parsing validates everything later code relies on, so a
/// damaged header is reported here, naming the file and the field, instead of
/// turning into a wrong read.
/// </summary>
public sealed class Qcow2Header
{
    public const uint Magic = 0x514649fb; // "QFI\xfb"
    public const int Version2Length = 72;
    public const int Version3MinLength = 104;
    public const int Version3Length = 112;
    public const int MaxBackingFileNameLength = 1023;

    /// <summary>qemu's QCOW_MAX_L1_SIZE: the largest active L1 table qemu opens (32 MiB, 4 Mi entries).</summary>
    public const int MaxL1TableBytes = 32 << 20;

    /// <summary>qemu's QCOW_MAX_REFTABLE_SIZE: the largest refcount table qemu opens (8 MiB).</summary>
    public const int MaxRefcountTableBytes = 8 << 20;

    /// <summary>qemu's QCOW_MAX_SNAPSHOTS.</summary>
    public const int MaxSnapshots = 65536;

    /// <summary>The fixed part of a snapshot table entry (qcow2.txt "Snapshots"); each entry is at least this long.</summary>
    private const int SnapshotHeaderLength = 40;

    /// <summary>Incompatible features this implementation understands.</summary>
    public const Qcow2IncompatibleFeatures Supported =
        Qcow2IncompatibleFeatures.Dirty | Qcow2IncompatibleFeatures.Corrupt | Qcow2IncompatibleFeatures.CompressionType;

    public uint Version { get; init; } = 3;
    public ulong BackingFileOffset { get; set; }
    public uint BackingFileSize { get; set; }
    public int ClusterBits { get; init; } = 16;
    public long Size { get; init; }
    public uint CryptMethod { get; init; }
    public int L1Size { get; init; }
    public long L1TableOffset { get; init; }
    public long RefcountTableOffset { get; set; }
    public int RefcountTableClusters { get; set; }
    public uint NbSnapshots { get; init; }
    public ulong SnapshotsOffset { get; init; }
    public Qcow2IncompatibleFeatures IncompatibleFeatures { get; set; }
    public ulong CompatibleFeatures { get; set; }
    public ulong AutoclearFeatures { get; set; }
    public int RefcountOrder { get; init; } = 4;
    public int HeaderLength { get; init; } = Version3Length;
    public byte CompressionType { get; init; }

    /// <summary>From the backing-file-format extension, or null when absent.</summary>
    public string? BackingFormat { get; set; }

    /// <summary>The backing file name exactly as stored (relative to the image's folder, or absolute).</summary>
    public string? BackingFile { get; set; }

    public int ClusterSize => 1 << ClusterBits;

    /// <summary>
    /// Parses and validates the first cluster (or as much of the file as
    /// exists). <paramref name="fileLength"/> bounds every offset.
    /// </summary>
    public static Qcow2Header Parse(ReadOnlySpan<byte> b, long fileLength, string path)
    {
        if (b.Length < Version2Length)
        {
            throw Corrupt(path, $"the header is truncated ({b.Length} bytes, a qcow2 header has at least {Version2Length})");
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(b) != Magic)
        {
            throw Corrupt(path, "no qcow2 magic (QFI\\xfb) at offset 0");
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(b[4..]);
        if (version is not (2 or 3))
        {
            throw Corrupt(path, $"qcow2 version {version} is not supported (only 2 and 3)");
        }

        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(b[20..]);
        if (clusterBits is < 9 or > 21)
        {
            throw Corrupt(path, $"cluster_bits {clusterBits} is outside 9..21");
        }

        var header = new Qcow2Header
        {
            Version = version,
            BackingFileOffset = BinaryPrimitives.ReadUInt64BigEndian(b[8..]),
            BackingFileSize = BinaryPrimitives.ReadUInt32BigEndian(b[16..]),
            ClusterBits = (int)clusterBits,
            Size = CheckedLong(BinaryPrimitives.ReadUInt64BigEndian(b[24..]), path, "size"),
            CryptMethod = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            L1Size = CheckedInt(BinaryPrimitives.ReadUInt32BigEndian(b[36..]), path, "l1_size"),
            L1TableOffset = CheckedLong(BinaryPrimitives.ReadUInt64BigEndian(b[40..]), path, "l1_table_offset"),
            RefcountTableOffset = CheckedLong(BinaryPrimitives.ReadUInt64BigEndian(b[48..]), path, "refcount_table_offset"),
            RefcountTableClusters = CheckedInt(BinaryPrimitives.ReadUInt32BigEndian(b[56..]), path, "refcount_table_clusters"),
            NbSnapshots = BinaryPrimitives.ReadUInt32BigEndian(b[60..]),
            SnapshotsOffset = BinaryPrimitives.ReadUInt64BigEndian(b[64..]),
            IncompatibleFeatures = version == 3 && b.Length >= 80 ? (Qcow2IncompatibleFeatures)BinaryPrimitives.ReadUInt64BigEndian(b[72..]) : 0,
            CompatibleFeatures = version == 3 && b.Length >= 88 ? BinaryPrimitives.ReadUInt64BigEndian(b[80..]) : 0,
            AutoclearFeatures = version == 3 && b.Length >= 96 ? BinaryPrimitives.ReadUInt64BigEndian(b[88..]) : 0,
            RefcountOrder = version == 3 && b.Length >= 100 ? (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[96..]), 64) : 4,
            HeaderLength = version == 3 && b.Length >= 104 ? (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[100..]), int.MaxValue) : Version2Length,
        };
        header = header.WithCompressionType(b, path);
        header.Validate(b, fileLength, path);
        return header;
    }

    private Qcow2Header WithCompressionType(ReadOnlySpan<byte> b, string path)
    {
        if (Version != 3)
        {
            return this;
        }

        // The header and its extensions live in the first cluster (qemu
        // refuses a header_length beyond it), however much the caller read.
        var limit = Math.Min(b.Length, ClusterSize);
        if (HeaderLength < Version3MinLength || HeaderLength > limit)
        {
            throw Corrupt(path, $"header_length {HeaderLength} is outside {Version3MinLength}..{limit}");
        }

        if (HeaderLength <= 104)
        {
            return this;
        }

        return new Qcow2Header
        {
            Version = Version, BackingFileOffset = BackingFileOffset, BackingFileSize = BackingFileSize,
            ClusterBits = ClusterBits, Size = Size, CryptMethod = CryptMethod, L1Size = L1Size,
            L1TableOffset = L1TableOffset, RefcountTableOffset = RefcountTableOffset,
            RefcountTableClusters = RefcountTableClusters, NbSnapshots = NbSnapshots, SnapshotsOffset = SnapshotsOffset,
            IncompatibleFeatures = IncompatibleFeatures, CompatibleFeatures = CompatibleFeatures,
            AutoclearFeatures = AutoclearFeatures, RefcountOrder = RefcountOrder, HeaderLength = HeaderLength,
            CompressionType = b[104],
        };
    }

    private void Validate(ReadOnlySpan<byte> b, long fileLength, string path)
    {
        var unknown = IncompatibleFeatures & ~Supported;
        if (unknown != 0)
        {
            throw Corrupt(path, $"unsupported incompatible feature bits 0x{(ulong)unknown:x} ({unknown})");
        }

        if ((IncompatibleFeatures & Qcow2IncompatibleFeatures.CompressionType) != 0 && CompressionType != 0)
        {
            throw Corrupt(path, $"compression type {CompressionType} is not supported (only zlib)");
        }

        if (CryptMethod != 0)
        {
            throw Corrupt(path, $"encrypted images (crypt_method {CryptMethod}) are not supported");
        }

        if (RefcountOrder > 6)
        {
            throw Corrupt(path, $"refcount_order {RefcountOrder} is above 6");
        }

        // Every product below is of values already bounded (cluster_bits
        // 9..21, l1_size and refcount_table_clusters at most 2^28, size and
        // offsets at most 2^62), so none can overflow a long; the tables are
        // also held to qemu's limits, because they are loaded whole into memory.
        var clusterSize = ClusterSize;
        var l2Entries = clusterSize / 8;
        var bytesPerL1Entry = (long)clusterSize * l2Entries;
        var neededL1 = (Size + bytesPerL1Entry - 1) / bytesPerL1Entry;
        if (L1Size < neededL1)
        {
            throw Corrupt(path, $"l1_size {L1Size} cannot map the virtual size {Size} (needs {neededL1})");
        }

        if (L1Size > MaxL1TableBytes / 8)
        {
            throw Corrupt(path, $"l1_size {L1Size} is above the largest L1 table qemu opens ({MaxL1TableBytes / 8} entries)");
        }

        CheckTable(L1TableOffset, (long)L1Size * 8, fileLength, path, "L1 table");
        if (RefcountTableClusters == 0)
        {
            throw Corrupt(path, "refcount_table_clusters is 0");
        }

        if ((long)RefcountTableClusters * clusterSize > MaxRefcountTableBytes)
        {
            throw Corrupt(path, $"refcount_table_clusters {RefcountTableClusters} is above the largest refcount table qemu opens ({MaxRefcountTableBytes >> ClusterBits} clusters of {clusterSize} bytes)");
        }

        CheckTable(RefcountTableOffset, (long)RefcountTableClusters * clusterSize, fileLength, path, "refcount table");
        CheckSnapshotTable(fileLength, path);
        ReadExtensions(b, path);
        if (BackingFileOffset != 0)
        {
            // Compared as offset, then room left after it: the sum of two
            // 64-bit fields can wrap around and pass.
            var end = (ulong)Math.Min(b.Length, clusterSize);
            if (BackingFileSize is 0 or > MaxBackingFileNameLength
                || BackingFileOffset >= end
                || BackingFileSize > end - BackingFileOffset)
            {
                throw Corrupt(path, $"backing file name at {BackingFileOffset} (+{BackingFileSize}) is outside the first cluster");
            }

            BackingFile = Encoding.UTF8.GetString(b.Slice((int)BackingFileOffset, (int)BackingFileSize));
        }
    }

    /// <summary>
    /// Snapshots are never read here (such images open read-only), but a
    /// table that cannot exist means the header is damaged, as qemu says too.
    /// </summary>
    private void CheckSnapshotTable(long fileLength, string path)
    {
        if (NbSnapshots == 0)
        {
            return;
        }

        if (NbSnapshots > MaxSnapshots)
        {
            throw Corrupt(path, $"nb_snapshots {NbSnapshots} is above qemu's limit of {MaxSnapshots}");
        }

        var offset = CheckedLong(SnapshotsOffset, path, "snapshots_offset");
        CheckTable(offset, (long)NbSnapshots * SnapshotHeaderLength, fileLength, path, "snapshot table");
    }

    private void CheckTable(long offset, long length, long fileLength, string path, string what)
    {
        if (offset == 0 || offset % ClusterSize != 0)
        {
            throw Corrupt(path, $"the {what} offset {offset} is not a non-zero multiple of the cluster size {ClusterSize}");
        }

        if (offset > fileLength - length)
        {
            throw Corrupt(path, $"the {what} at {offset} (+{length} bytes) runs past the end of the file ({fileLength} bytes)");
        }
    }

    private void ReadExtensions(ReadOnlySpan<byte> b, string path)
    {
        if (Version != 3)
        {
            return;
        }

        var end = Math.Min(b.Length, ClusterSize);
        var at = HeaderLength;
        while (at + 8 <= end)
        {
            var type = (Qcow2HeaderExtensionType)BinaryPrimitives.ReadUInt32BigEndian(b[at..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(b[(at + 4)..]);
            if (type == Qcow2HeaderExtensionType.End)
            {
                return;
            }

            if (length > end - at - 8)
            {
                throw Corrupt(path, $"header extension 0x{(uint)type:x8} at {at} (+{length} bytes) runs past the first cluster");
            }

            var data = b.Slice(at + 8, (int)length);
            switch (type)
            {
                case Qcow2HeaderExtensionType.BackingFileFormat:
                    BackingFormat = Encoding.ASCII.GetString(data).TrimEnd('\0');
                    break;
                case Qcow2HeaderExtensionType.ExternalDataFile:
                    throw Corrupt(path, "external data files are not supported");
                case Qcow2HeaderExtensionType.FullDiskEncryption:
                    throw Corrupt(path, "encrypted images are not supported");
                default:
                    break; // feature names, bitmaps: not needed to read or write guest data
            }

            at += 8 + (int)((length + 7) & ~7u);
        }
    }

    /// <summary>
    /// Writes a version 3 header with a backing-format extension (when there
    /// is a backing file), the end marker and the backing file name into the
    /// first cluster. Fails if they do not fit in one cluster.
    /// </summary>
    public void WriteTo(Span<byte> cluster)
    {
        cluster.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(cluster, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[4..], 3);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[20..], (uint)ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[24..], (ulong)Size);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[36..], (uint)L1Size);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[40..], (ulong)L1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[48..], (ulong)RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[56..], (uint)RefcountTableClusters);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[72..], (ulong)IncompatibleFeatures);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[80..], CompatibleFeatures);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[88..], AutoclearFeatures);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[96..], (uint)RefcountOrder);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[100..], Version3Length);
        var at = Version3Length;
        if (BackingFile is not null)
        {
            var format = Encoding.ASCII.GetBytes(BackingFormat ?? "");
            var name = Encoding.UTF8.GetBytes(BackingFile);
            var needed = at + 8 + ((format.Length + 7) & ~7) + 8 + name.Length;
            if (name.Length is 0 or > MaxBackingFileNameLength || needed > cluster.Length)
            {
                throw new ArgumentException($"The backing file name '{BackingFile}' does not fit in the first cluster.");
            }

            if (format.Length > 0)
            {
                BinaryPrimitives.WriteUInt32BigEndian(cluster[at..], (uint)Qcow2HeaderExtensionType.BackingFileFormat);
                BinaryPrimitives.WriteUInt32BigEndian(cluster[(at + 4)..], (uint)format.Length);
                format.CopyTo(cluster[(at + 8)..]);
                at += 8 + ((format.Length + 7) & ~7);
            }

            at += 8; // end-of-extensions marker: eight zero bytes
            BackingFileOffset = (ulong)at;
            BackingFileSize = (uint)name.Length;
            BinaryPrimitives.WriteUInt64BigEndian(cluster[8..], BackingFileOffset);
            BinaryPrimitives.WriteUInt32BigEndian(cluster[16..], BackingFileSize);
            name.CopyTo(cluster[at..]);
        }
    }

    internal static BlockDeviceException Corrupt(string path, string problem) =>
        new(BlockDeviceError.Corrupt, $"{path}: not a usable qcow2 image: {problem}.");

    private static long CheckedLong(ulong value, string path, string field) =>
        value <= long.MaxValue / 2 ? (long)value : throw Corrupt(path, $"{field} {value} is too large");

    private static int CheckedInt(uint value, string path, string field) =>
        value <= 1 << 28 ? (int)value : throw Corrupt(path, $"{field} {value} is too large");
}
