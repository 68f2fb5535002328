using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Streamboot.Storage.Formats.Foreign;

/// <summary>
/// Recognises VHD, VHDX, VMDK and VDI files by their signatures and converts
/// them to raw or qcow2 with <c>qemu-img convert</c>, reporting its progress.
/// </summary>
public static partial class ForeignImage
{
    /// <summary>The format <paramref name="path"/> is in, if it is one of the foreign ones.</summary>
    public static ForeignFormat? Detect(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var length = RandomAccess.GetLength(handle);
        Span<byte> head = stackalloc byte[512];
        head.Clear();
        RandomAccess.Read(handle, head, 0);
        if (head.StartsWith("vhdxfile"u8))
        {
            return ForeignFormat.Vhdx;
        }

        if (head.StartsWith("KDMV"u8) || head.StartsWith("# Disk DescriptorFile"u8))
        {
            return ForeignFormat.Vmdk;
        }

        // VDI: the image signature 0xbeda107f sits at offset 0x40, after the text banner.
        if (BinaryPrimitives.ReadUInt32LittleEndian(head[0x40..]) == 0xbeda107f)
        {
            return ForeignFormat.Vdi;
        }

        // VHD: dynamic disks start with a copy of the footer; every VHD ends with it.
        if (head.StartsWith("conectix"u8))
        {
            return ForeignFormat.Vhd;
        }

        if (length >= 512)
        {
            Span<byte> footer = stackalloc byte[8];
            RandomAccess.Read(handle, footer, length - 512);
            if (footer.SequenceEqual("conectix"u8))
            {
                return ForeignFormat.Vhd;
            }
        }

        return null;
    }

    public static bool TryParse(string? text, out ForeignFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "vhd" or "vpc":
                format = ForeignFormat.Vhd;
                return true;
            case "vhdx":
                format = ForeignFormat.Vhdx;
                return true;
            case "vmdk":
                format = ForeignFormat.Vmdk;
                return true;
            case "vdi":
                format = ForeignFormat.Vdi;
                return true;
            default:
                format = default;
                return false;
        }
    }

    /// <summary>qemu-img's name for the format.</summary>
    public static string QemuName(ForeignFormat format) => format switch
    {
        ForeignFormat.Vhd => "vpc",
        ForeignFormat.Vhdx => "vhdx",
        ForeignFormat.Vmdk => "vmdk",
        _ => "vdi",
    };

    /// <summary>Where qemu-img is, or null when qemu-utils is not installed.</summary>
    public static string? FindQemuImg() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "qemu-img"))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Converts <paramref name="source"/> to a new <paramref name="destination"/>
    /// in <paramref name="targetFormat"/> ("raw" or "qcow2"). Progress is a
    /// fraction from 0 to 1, read from qemu-img's <c>-p</c> output.
    /// </summary>
    /// <exception cref="InvalidOperationException">qemu-img is missing or the conversion failed; the message says which.</exception>
    public static async Task ConvertAsync(string source, ForeignFormat format, string destination, string targetFormat, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var qemuImg = FindQemuImg() ?? throw new InvalidOperationException(
            $"importing {format.ToString().ToUpperInvariant()} needs qemu-img, which is not installed; install it with 'apt-get install qemu-utils'");
        var start = new ProcessStartInfo(qemuImg)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "convert", "-p", "-f", QemuName(format), "-O", targetFormat, source, destination })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {qemuImg}");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var buffer = new char[256];
        var line = new StringBuilder();
        int n;
        // -p rewrites one line with '\r': "    (42.00/100%)".
        while ((n = await process.StandardOutput.ReadAsync(buffer, cancellationToken)) > 0)
        {
            foreach (var c in buffer.AsSpan(0, n))
            {
                if (c is '\r' or '\n')
                {
                    Report(line.ToString(), progress);
                    line.Clear();
                }
                else
                {
                    line.Append(c);
                }
            }
        }

        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"qemu-img could not convert {source} as {QemuName(format)}: {(await stderr).Trim()}");
        }

        progress?.Report(1.0);
    }

    private static void Report(string line, IProgress<double>? progress)
    {
        var match = ProgressPattern().Match(line);
        if (match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var percent))
        {
            progress?.Report(percent / 100);
        }
    }

    [GeneratedRegex(@"\(([0-9.]+)/100%\)")]
    private static partial Regex ProgressPattern();
}
