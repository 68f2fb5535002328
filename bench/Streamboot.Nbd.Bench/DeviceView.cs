using System.Globalization;
using System.Text.RegularExpressions;

namespace Streamboot.Nbd.Bench;

/// <summary>
/// The "serve device" row: what a booting client reads, through
/// <c>streamboot serve</c> defaults. The image is imported (qcow2, the
/// default), a second version is opened on it with 5 % of its clusters
/// rewritten (qemu-io, spread over the disk, so most reads walk both L2
/// tables) and promoted to production, a device is added and assigned, and
/// the device's own view is read: <c>bench/bench1/KEY</c> with the key of a
/// boot script fetched like iPXE does, i.e. the device's write cache (server
/// disk, the default) over the shared read cache over the version chain.
/// </summary>
internal static partial class DeviceView
{
    public const string Mac = "52:54:00:be:00:01";
    public const string Device = "bench1";

    /// <summary>Run after the import, before the server starts: the second version, the device and its assignment.</summary>
    public static async Task PrepareAsync(string launcher, string data, int sizeMiB, Func<string, string[], Task<(int Code, string Output)>> run)
    {
        await MustAsync(run, launcher, ["--data", data, "vdisk", "version", "new", "bench"]);
        var overlay = Directory.GetFiles(Path.Combine(data, "vdisks", "bench"), "bench.2.*").Single();
        await RewriteClustersAsync(overlay, sizeMiB, run);
        await MustAsync(run, launcher, ["--data", data, "vdisk", "version", "promote", "bench"]);
        await MustAsync(run, launcher, ["--data", data, "vdisk", "version", "promote", "bench"]);
        await MustAsync(run, launcher, ["--data", data, "device", "add", Mac, "--name", Device]);
        await MustAsync(run, launcher, ["--data", data, "assign", Device, "bench"]);
    }

    /// <summary>Once the server answers: the device's export name, with the key of a new boot (what iPXE's script hands the initramfs).</summary>
    public static async Task<string> ExportAsync(int httpPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var script = await http.GetStringAsync($"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}/boot.ipxe?mac={Mac}");
        var key = KeyInScript().Match(script);
        if (!key.Success)
        {
            throw new InvalidOperationException("the boot script for the bench device carries no key:\n" + script);
        }

        return $"bench/{Device}/{key.Groups[1].Value}";
    }

    /// <summary>5 % of the 64 KiB clusters, evenly spread, written in the new version (qemu-io on the closed file).</summary>
    private static async Task RewriteClustersAsync(string overlay, int sizeMiB, Func<string, string[], Task<(int Code, string Output)>> run)
    {
        var clusters = (long)sizeMiB * 16;
        var arguments = new List<string> { "-f", "qcow2" };
        for (long c = 0; c < clusters; c += 20)
        {
            arguments.Add("-c");
            arguments.Add($"write -q -P 0x5a {(c * 65536).ToString(CultureInfo.InvariantCulture)} 64k");
        }

        arguments.Add(overlay);
        await MustAsync(run, "qemu-io", [.. arguments]);
    }

    private static async Task MustAsync(Func<string, string[], Task<(int Code, string Output)>> run, string file, string[] arguments)
    {
        var (code, output) = await run(file, arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments.Take(8))} ... failed ({code}): {output}");
        }
    }

    [GeneratedRegex(@"(?:/boot/key/|/vdisk/bench/bench1/)([0-9A-Za-z_-]+)")]
    private static partial Regex KeyInScript();
}
