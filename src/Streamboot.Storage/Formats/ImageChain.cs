using System.Buffers.Binary;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;

namespace Streamboot.Storage.Formats;

/// <summary>
/// Opens a vDisk version chain from its top file: the top image's format is
/// probed, and each qcow2 image opens the image its backing file name points
/// to, down to a raw or qcow2 base. Lower images are always opened read-only.
/// </summary>
public static class ImageChain
{
    /// <summary>Opens <paramref name="topPath"/> and everything below it.</summary>
    public static IBlockDevice Open(string topPath, bool readOnly)
    {
        var context = new ImageChainContext();
        return OpenAs(topPath, Probe(topPath), readOnly, context);
    }

    /// <summary>The files of the chain, top first (reads headers only).</summary>
    public static IReadOnlyList<string> Describe(string topPath)
    {
        var files = new List<string>();
        var context = new ImageChainContext();
        var path = topPath;
        while (true)
        {
            context.Enter(path);
            files.Add(path);
            if (Probe(path) != ImageFormat.Qcow2)
            {
                return files;
            }

            var header = ReadHeader(path);
            if (header.BackingFile is null)
            {
                return files;
            }

            path = ResolveBackingPath(path, header.BackingFile);
        }
    }

    /// <summary>Qcow2 when the file starts with the qcow2 magic, raw otherwise.</summary>
    public static ImageFormat Probe(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> magic = stackalloc byte[4];
        var n = RandomAccess.Read(handle, magic, 0);
        return n == 4 && BinaryPrimitives.ReadUInt32BigEndian(magic) == Qcow2Header.Magic ? ImageFormat.Qcow2 : ImageFormat.Raw;
    }

    /// <summary>The virtual disk size of a raw or qcow2 file.</summary>
    public static long ReadVirtualSize(string path) =>
        Probe(path) == ImageFormat.Qcow2 ? ReadHeader(path).Size : new FileInfo(path).Length;

    /// <summary>Relative backing names are relative to the folder of the image that names them (as in qemu).</summary>
    public static string ResolveBackingPath(string imagePath, string backingFile)
    {
        if (backingFile.Contains(':', StringComparison.Ordinal) && !System.IO.Path.IsPathRooted(backingFile))
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{imagePath}: backing file '{backingFile}' is a protocol or json: name; only local files are supported.");
        }

        return System.IO.Path.IsPathRooted(backingFile)
            ? backingFile
            : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(imagePath)) ?? "", backingFile);
    }

    internal static IBlockDevice OpenBacking(string imagePath, string backingFile, string? backingFormat, ImageChainContext context)
    {
        var resolved = ResolveBackingPath(imagePath, backingFile);
        if (!File.Exists(resolved))
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{imagePath}: backing file '{backingFile}' ({resolved}) does not exist.");
        }

        // The backing format recorded by the writer wins over probing, so a
        // raw base whose guest wrote a qcow2 header into sector 0 stays raw.
        var format = backingFormat switch
        {
            null or "" => Probe(resolved),
            "raw" => ImageFormat.Raw,
            "qcow2" => ImageFormat.Qcow2,
            _ => throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{imagePath}: backing file '{backingFile}' has format '{backingFormat}', which is not supported (raw or qcow2)."),
        };
        return OpenAs(resolved, format, readOnly: true, context);
    }

    private static IBlockDevice OpenAs(string path, ImageFormat format, bool readOnly, ImageChainContext context)
    {
        if (format == ImageFormat.Qcow2)
        {
            return Qcow2Image.Open(path, readOnly, context);
        }

        context.Enter(path);
        return RawBlockDevice.Open(path, readOnly);
    }

    private static Qcow2Header ReadHeader(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var length = RandomAccess.GetLength(handle);
        var first = new byte[(int)Math.Min(length, 2 * 1024 * 1024)];
        var n = RandomAccess.Read(handle, first, 0);
        return Qcow2Header.Parse(first.AsSpan(0, n), length, path);
    }
}
