using System.Buffers.Binary;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;

namespace Streamboot.Storage.Import;

/// <summary>
/// Turns a disk image from elsewhere into a vDisk file. Raw and qcow2
/// (with its backing chain, flattened) are copied natively; VHD, VHDX, VMDK
/// and VDI are converted by <c>qemu-img convert</c>, whose progress output is
/// translated into bytes.
/// </summary>
public static class ImageImporter
{
    /// <summary>Recognises a source image by its signature.</summary>
    public static ImportFormat Detect(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var length = RandomAccess.GetLength(handle);
        Span<byte> head = stackalloc byte[512];
        head = head[..RandomAccess.Read(handle, head, 0)];
        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(head) == Qcow2Header.Magic)
        {
            return ImportFormat.Qcow2;
        }

        if (head.StartsWith("vhdxfile"u8))
        {
            return ImportFormat.Vhdx;
        }

        if (head.StartsWith("KDMV"u8) || head.StartsWith("# Disk DescriptorFile"u8))
        {
            return ImportFormat.Vmdk;
        }

        if (head.Length >= 0x44 && BinaryPrimitives.ReadUInt32LittleEndian(head[0x40..]) == 0xbeda107f)
        {
            return ImportFormat.Vdi;
        }

        // A VHD keeps its "conectix" footer in the last 512 bytes (dynamic
        // disks also copy it to the start).
        if (head.StartsWith("conectix"u8))
        {
            return ImportFormat.Vhd;
        }

        if (length >= 512)
        {
            Span<byte> footer = stackalloc byte[8];
            if (RandomAccess.Read(handle, footer, length - 512) == 8 && footer.SequenceEqual("conectix"u8))
            {
                return ImportFormat.Vhd;
            }
        }

        return ImportFormat.Raw;
    }

    /// <summary>
    /// Imports <paramref name="sourcePath"/> into a new file
    /// <paramref name="destinationPath"/> in <paramref name="destinationFormat"/>.
    /// Progress is bytes of the virtual disk done.
    /// </summary>
    public static async Task ImportAsync(
        string sourcePath,
        string destinationPath,
        ImageFormat destinationFormat = ImageFormat.Qcow2,
        IProgress<long>? progress = null,
        int clusterSize = Qcow2Image.DefaultClusterSize,
        CancellationToken cancellationToken = default)
    {
        var format = Detect(sourcePath);
        if (format is ImportFormat.Raw or ImportFormat.Qcow2)
        {
            var source = ImageChain.Open(sourcePath, readOnly: true);
            try
            {
                var size = (source.Size + 511) & ~511L;
                if (destinationFormat == ImageFormat.Qcow2)
                {
                    Qcow2Image.Create(destinationPath, size, clusterSize);
                }
                else
                {
                    RawImage.CreateSparse(destinationPath, source.Size);
                }

                var destination = ImageChain.Open(destinationPath, readOnly: false);
                try
                {
                    await ImageCopier.CopyAsync(source, destination, progress, destinationReadsZero: true, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await destination.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }

            return;
        }

        await QemuImgConvertAsync(sourcePath, format, destinationPath, destinationFormat, progress, clusterSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <c>qemu-img convert -p</c>. Fails with <see cref="ImageImportException"/>
    /// naming the missing tool or carrying qemu-img's own message.
    /// </summary>
    public static async Task QemuImgConvertAsync(
        string sourcePath,
        ImportFormat sourceFormat,
        string destinationPath,
        ImageFormat destinationFormat,
        IProgress<long>? progress = null,
        int clusterSize = Qcow2Image.DefaultClusterSize,
        CancellationToken cancellationToken = default)
    {
        var virtualSize = await VirtualSizeAsync(sourcePath, sourceFormat, cancellationToken).ConfigureAwait(false);
        var args = new List<string> { "convert", "-p", "-f", QemuName(sourceFormat), "-O", destinationFormat == ImageFormat.Qcow2 ? "qcow2" : "raw" };
        if (destinationFormat == ImageFormat.Qcow2)
        {
            args.AddRange(["-o", "cluster_size=" + clusterSize.ToString(CultureInfo.InvariantCulture)]);
        }

        args.AddRange([sourcePath, destinationPath]);
        using var process = StartQemuImg(args);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);

        // -p prints "    (12.34/100%)" and a carriage return, again and again.
        var line = new StringBuilder();
        var buffer = new char[256];
        int n;
        while ((n = await process.StandardOutput.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] is '\r' or '\n')
                {
                    ReportPercent(line.ToString(), virtualSize, progress);
                    line.Clear();
                }
                else
                {
                    line.Append(buffer[i]);
                }
            }
        }

        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new ImageImportException($"qemu-img convert of {sourcePath} ({sourceFormat}) failed with exit code {process.ExitCode}: {(await stderr.ConfigureAwait(false)).Trim()}");
        }

        progress?.Report(virtualSize);
    }

    private static void ReportPercent(string text, long virtualSize, IProgress<long>? progress)
    {
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (progress is null || open < 0 || slash <= open)
        {
            return;
        }

        if (double.TryParse(text.AsSpan(open + 1, slash - open - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent))
        {
            progress.Report((long)(virtualSize * Math.Clamp(percent, 0, 100) / 100));
        }
    }

    private static async Task<long> VirtualSizeAsync(string path, ImportFormat format, CancellationToken cancellationToken)
    {
        using var process = StartQemuImg(["info", "--output=json", "-f", QemuName(format), path]);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var json = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new ImageImportException($"qemu-img info cannot read {path} as {format}: {(await stderr.ConfigureAwait(false)).Trim()}");
        }

        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("virtual-size").GetInt64();
    }

    private static Process StartQemuImg(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("qemu-img")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            return Process.Start(psi) ?? throw new ImageImportException("qemu-img did not start.");
        }
        catch (Win32Exception e)
        {
            throw new ImageImportException("qemu-img was not found on PATH: importing VHD, VHDX, VMDK and VDI images needs it (Debian package qemu-utils).", e);
        }
    }

    private static string QemuName(ImportFormat format) => format switch
    {
        ImportFormat.Vhd => "vpc",
        ImportFormat.Vhdx => "vhdx",
        ImportFormat.Vmdk => "vmdk",
        ImportFormat.Vdi => "vdi",
        ImportFormat.Qcow2 => "qcow2",
        _ => "raw",
    };
}
