using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Storage.Profiles;

/// <summary>
/// The blocks one boot of a vDisk version read, in first-read order
/// (<c>DATA/profiles/VDISK.vN.profile</c>). Replayed into the shared read
/// cache when the next boot begins, so the OS's start-up reads are hits.
/// </summary>
/// <remarks>
/// File layout, little-endian:
/// <code>
///   0  magic       "SBPROF01" (8 bytes)
///   8  blockSize   u32   the read cache's block size when recorded
///  12  count       u32   number of extents
///  16  diskSize    u64   the version's virtual size (a mismatch discards the file)
///  24  recordedAt  i64   Unix seconds
///  32  extents     count x (offset u64, length u64), in first-read order
///   .  checksum    u64   FNV-1a 64 of every byte before it
/// </code>
/// A truncated or altered file fails the length or checksum test and is
/// ignored: a profile only speeds a boot up, it is never needed for one.
/// </remarks>
public sealed record BootProfile(int BlockSize, long DiskSize, DateTimeOffset RecordedAt, IReadOnlyList<ProfileExtent> Extents)
{
    public const int MaxExtents = 100_000;
    private const int HeaderBytes = 32;
    private const int ExtentBytes = 16;
    private static readonly byte[] s_magic = Encoding.ASCII.GetBytes("SBPROF01");

    /// <summary>Bytes the extents cover.</summary>
    public long Bytes => Extents.Sum(e => e.Length);

    public byte[] Serialize()
    {
        var bytes = new byte[HeaderBytes + (Extents.Count * ExtentBytes) + 8];
        var span = bytes.AsSpan();
        s_magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)Extents.Count);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], DiskSize);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], RecordedAt.ToUnixTimeSeconds());
        var at = HeaderBytes;
        foreach (var extent in Extents)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], extent.Offset);
            BinaryPrimitives.WriteInt64LittleEndian(span[(at + 8)..], extent.Length);
            at += ExtentBytes;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], Fnv1a(span[..at]));
        return bytes;
    }

    /// <summary>Parses a profile file's bytes; a reason instead when they are not a whole, valid profile.</summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, out BootProfile? profile, out string reason)
    {
        profile = null;
        if (bytes.Length < HeaderBytes + 8 || !bytes[..8].SequenceEqual(s_magic))
        {
            reason = "not a boot profile (bad magic or too short)";
            return false;
        }

        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        if (count > MaxExtents || bytes.Length != HeaderBytes + ((long)count * ExtentBytes) + 8)
        {
            reason = $"truncated or oversized ({bytes.Length} bytes for {count} extents)";
            return false;
        }

        var end = HeaderBytes + ((int)count * ExtentBytes);
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes[end..]) != Fnv1a(bytes[..end]))
        {
            reason = "checksum mismatch";
            return false;
        }

        var diskSize = BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]);
        if (blockSize < 512 || (blockSize & (blockSize - 1)) != 0 || diskSize <= 0)
        {
            reason = $"invalid block size {blockSize} or disk size {diskSize}";
            return false;
        }

        var extents = new ProfileExtent[count];
        for (var i = 0; i < count; i++)
        {
            var at = HeaderBytes + (i * ExtentBytes);
            var extent = new ProfileExtent(BinaryPrimitives.ReadInt64LittleEndian(bytes[at..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[(at + 8)..]));
            if (extent.Offset < 0 || extent.Length <= 0 || extent.Offset > diskSize - extent.Length)
            {
                reason = $"extent {i} ({extent.Offset}+{extent.Length}) lies outside the disk";
                return false;
            }

            extents[i] = extent;
        }

        profile = new BootProfile((int)blockSize, diskSize, DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64LittleEndian(bytes[24..])), extents);
        reason = "";
        return true;
    }

    /// <summary>Writes the file whole or not at all: a temporary file, flushed, then renamed over the old one.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Serialize());
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static ulong Fnv1a(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
