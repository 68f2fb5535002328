using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The test OS of client/testimage/build.sh (the host's Debian kernel, an
/// initramfs with the client boot component, a busybox root on a raw MBR
/// disk), built once per test run into artifacts/testos (the script skips
/// the work when its outputs are newer than its inputs), and what tests do
/// with it on a <see cref="BootSite"/>.
/// </summary>
public static partial class TestOs
{
    /// <summary>The line the test OS's init prints once it runs from the streamed root.</summary>
    public const string UpLine = "STREAMBOOT-TEST-OS up:";

    private static readonly Lazy<Task<string>> s_built = new(BuildAsync);

    /// <summary>The folder with vmlinuz, initrd.img, disk.img and cmdline.</summary>
    public static Task<string> FolderAsync() => s_built.Value;

    /// <summary>
    /// Imports disk.img as <paramref name="vdisk"/> (raw, so nothing is
    /// converted) and puts the kernel, initrd and a cmdline file beside it,
    /// which makes the server's boot script load them over HTTP.
    /// </summary>
    public static async Task ImportAsync(BootSite site, string vdisk, string extraCmdline = "", params string[] importOptions)
    {
        var folder = await FolderAsync();
        await site.Cli.OkAsync(["vdisk", "import", vdisk, Path.Combine(folder, "disk.img"), "--format", "raw", .. importOptions]);
        var show = await site.Cli.JsonAsync("vdisk", "show", vdisk);
        var boot = Path.Combine(show.GetProperty("storePath").GetString()!, "boot");
        Directory.CreateDirectory(boot);
        File.Copy(Path.Combine(folder, "vmlinuz"), Path.Combine(boot, "vmlinuz"));
        File.Copy(Path.Combine(folder, "initrd.img"), Path.Combine(boot, "initrd.img"));
        var cmdline = (await File.ReadAllTextAsync(Path.Combine(folder, "cmdline"))).Trim();
        await File.WriteAllTextAsync(Path.Combine(boot, "cmdline"), $"{cmdline} {extraCmdline}".Trim() + "\n");
    }

    /// <summary>Waits for the test OS's line and its shell; returns the line's fields (hostname, machine-id, root, fs, cache, ...).</summary>
    public static async Task<Report> WaitUpAsync(QemuVm vm, TimeSpan? timeout = null)
    {
        var line = UpLine + await vm.WaitForLineAsync(UpLine, timeout ?? TimeSpan.FromMinutes(4));
        var seconds = vm.SinceStart.Elapsed.TotalSeconds;
        var fields = FieldPattern().Matches(line).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        // The shell comes right after; a command typed before it would be lost.
        await vm.WaitForAsync("testos# ", TimeSpan.FromSeconds(30));
        return new Report(fields, seconds, line);
    }

    /// <summary>A device's database record, from <c>device show --json</c>.</summary>
    public static async Task<(string Name, string MachineIdHex)> DeviceAsync(BootSite site, string device)
    {
        var json = await site.Cli.JsonAsync("device", "show", device);
        return (json.GetProperty("name").GetString()!, json.GetProperty("machineId").GetString()!.Replace("-", "", StringComparison.Ordinal));
    }

    /// <summary>The device's live session, from <c>session list --json</c>, or null.</summary>
    public static async Task<JsonElement?> LiveSessionAsync(BootSite site, string device)
    {
        var sessions = await site.Cli.JsonAsync("session", "list");
        foreach (var session in sessions.EnumerateArray())
        {
            if (session.GetProperty("device").GetString() == device && session.GetProperty("endedAt").ValueKind == JsonValueKind.Null)
            {
                return session.Clone();
            }
        }

        return null;
    }

    private static async Task<string> BuildAsync()
    {
        var script = Path.Combine(Repository.Root, "client", "testimage", "build.sh");
        var folder = Path.Combine(Repository.Root, "artifacts", "testos");
        var result = await ProcessRunner.RunAsync(script, [folder], timeout: TimeSpan.FromMinutes(10));
        // build.sh names the Debian package of any tool it misses.
        Assert.True(result.ExitCode == 0, $"client/testimage/build.sh failed:\n{result}");
        return folder;
    }

    private static readonly Lazy<Task<string>> s_dracut = new(BuildDracutAsync);

    /// <summary>The test OS's initramfs as dracut makes it (client/testimage/build-dracut.sh), built once per run.</summary>
    public static Task<string> DracutInitrdAsync() => s_dracut.Value;

    private static async Task<string> BuildDracutAsync()
    {
        var folder = await FolderAsync();
        var script = Path.Combine(Repository.Root, "client", "testimage", "build-dracut.sh");
        var result = await ProcessRunner.RunAsync(script, [folder], timeout: TimeSpan.FromMinutes(15));
        Assert.True(result.ExitCode == 0, $"client/testimage/build-dracut.sh failed:\n{result}");
        return Path.Combine(folder, "initrd-dracut.img");
    }

    [GeneratedRegex(@"([a-z-]+)=(\S*)")]
    private static partial Regex FieldPattern();

    /// <summary>The test OS's report line and how long after QEMU's start it came.</summary>
    public sealed record Report(IReadOnlyDictionary<string, string> Fields, double Seconds, string Line)
    {
        public string this[string field] => Fields.TryGetValue(field, out var value) ? value : "";
    }
}
