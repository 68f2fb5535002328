using System.Diagnostics;
using System.Text.RegularExpressions;
using Streamboot.Boot.Tests;

namespace Streamboot.BootTime;

/// <summary>
/// The boot chain built from peers on its own boot network: busybox httpd
/// serves a static iPXE script, the kernel, the initrd and the key piece;
/// nbdkit (file plugin, cow filter: the client's writes stay in nbdkit's
/// memory, the disk file is never written) serves a copy of the test OS's
/// disk. The script's kernel command line is the one Streamboot gives the
/// same image, with Streamboot's address replaced, so both chains boot the
/// same kernel, initrd and root the same way; nbdkit ignores the export name.
/// </summary>
internal sealed partial class Peers(BootSite site)
{
    private readonly string _www = site.Folder.Combine("www");
    private readonly string _disk = site.Folder.Combine("disk.img");
    private Process? _httpd;
    private Process? _nbdkit;

    /// <summary>The files the peers read (to drop them from the page cache).</summary>
    public string[] Files => [_disk, .. Directory.GetFiles(_www)];

    /// <summary>Copies the test OS, writes the static script from Streamboot's own script for the same image, starts httpd.</summary>
    public async Task PrepareAsync(BootSite streamboot, string testOs)
    {
        Directory.CreateDirectory(_www);
        File.Copy(Path.Combine(testOs, "disk.img"), _disk);
        File.Copy(Path.Combine(testOs, "vmlinuz"), Path.Combine(_www, "vmlinuz"));
        File.Copy(Path.Combine(testOs, "initrd.img"), Path.Combine(_www, "initrd.img"));

        var from = streamboot.Network.ServerAddress;
        var script = await CurlAsync(streamboot, $"{streamboot.BaseUrl}/boot.ipxe?mac=52:54:00:b7:00:01");
        var kernel = KernelLine().Match(script);
        var key = KeyLine().Match(script);
        if (!kernel.Success || !key.Success)
        {
            throw new InvalidOperationException("Streamboot's boot script has no kernel line with a key piece:\n" + script);
        }

        var keyResult = await streamboot.Network.ExecAsync("curl", "-sf", "-o", Path.Combine(_www, "streamboot-key.cpio"), key.Groups[1].Value);
        if (keyResult.ExitCode != 0)
        {
            throw new InvalidOperationException("cannot fetch the key piece: " + keyResult);
        }

        var parameters = kernel.Groups[1].Value.Replace(from, site.Network.ServerAddress, StringComparison.Ordinal);
        var to = $"http://{site.Network.ServerAddress}:8080";
        await File.WriteAllTextAsync(Path.Combine(_www, "boot.ipxe"),
            $"#!ipxe\nkernel {to}/vmlinuz {parameters} || goto failed\ninitrd {to}/initrd.img || goto failed\ninitrd {to}/streamboot-key.cpio || goto failed\nboot\n:failed\nshell\n");
        Console.WriteLine($"peers: script kernel parameters: {Regex.Replace(parameters, "/[0-9A-Za-z_-]{20,}", "/KEY")}");

        _httpd = Start("busybox", "httpd", "-f", "-p", "0.0.0.0:8080", "-h", _www);
    }

    /// <summary>A new nbdkit (so each boot starts from the disk as it is, its cow overlay empty).</summary>
    public async Task StartNbdkitAsync()
    {
        StopNbdkit();
        _nbdkit = Start("nbdkit", "-f", "-i", "0.0.0.0", "-p", "10809", "--filter=cow", "file", _disk);
        for (var i = 0; i < 100; i++)
        {
            var probe = await site.Network.ExecAsync("nbdinfo", "--size", "nbd://127.0.0.1:10809");
            if (probe.ExitCode == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("nbdkit did not answer");
    }

    public void Stop()
    {
        StopNbdkit();
        Kill(_httpd);
    }

    private void StopNbdkit()
    {
        Kill(_nbdkit);
        _nbdkit = null;
    }

    private static void Kill(Process? process)
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            process.WaitForExit(5000);
        }

        process?.Dispose();
    }

    /// <summary>A peer in the site's namespace (ip netns exec execs it: the PID is the peer's).</summary>
    private Process Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "netns", "exec", site.Network.Name, program }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"  [{program}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<string> CurlAsync(BootSite site, string url)
    {
        var result = await site.Network.ExecAsync("curl", "-sf", url);
        return result.ExitCode == 0 ? result.Stdout : throw new InvalidOperationException($"curl {url} failed: {result}");
    }

    [GeneratedRegex(@"^kernel \S+ (.*) \|\| goto failed$", RegexOptions.Multiline)]
    private static partial Regex KernelLine();

    [GeneratedRegex(@"^initrd (\S+/boot/key/\S+) \|\| goto failed$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();
}
