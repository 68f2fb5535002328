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

    /// <summary>
    /// Merges a qcow2 version into the image below it (qemu-img commit): every
    /// cluster the top maps itself is written into its backing image, which
    /// then reads as the top did. The top file is left as it is (the caller
    /// deletes it or keeps it as an empty layer). Progress is bytes of the
    /// virtual disk scanned.
    /// </summary>
    public static async Task CommitAsync(string topPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var header = ReadHeader(topPath);
        if (header.BackingFile is null)
        {
            throw new InvalidOperationException($"{topPath} has no backing file to commit into.");
        }

        var lowerPath = ResolveBackingPath(topPath, header.BackingFile);
        var lower = Open(lowerPath, readOnly: false);
        try
        {
            var top = Qcow2Image.OpenOver(topPath, lower, readOnly: true);
            try
            {
                var buffer = new byte[1 << 20];
                foreach (var (offset, length, zero) in top.OwnRanges())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (offset + length > lower.Size)
                    {
                        throw new InvalidOperationException($"{topPath} holds data past the end of {lowerPath} ({lower.Size} bytes); grow the lower image first.");
                    }

                    if (zero)
                    {
                        await lower.WriteZeroesAsync(offset, length, WriteFlags.MayTrim, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        for (var at = offset; at < offset + length; at += buffer.Length)
                        {
                            var n = (int)Math.Min(buffer.Length, offset + length - at);
                            await top.ReadAsync(at, buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                            await lower.WriteAsync(at, buffer.AsMemory(0, n), WriteFlags.None, cancellationToken).ConfigureAwait(false);
                        }
                    }

                    progress?.Report(offset + length);
                }

                await lower.FlushAsync(cancellationToken).ConfigureAwait(false);
                progress?.Report(top.Size);
            }
            finally
            {
                await top.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            await lower.DisposeAsync().ConfigureAwait(false);
        }
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
