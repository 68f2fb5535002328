using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Streamboot.Boot.Tests;
using Streamboot.Testing;

namespace Streamboot.BootTime;

/// <summary>
/// <c>--http</c>: the part of a boot where iPXE downloads the kernel and the
/// initrd, alone. One VM's iPXE fetches the test OS's kernel and initrd
/// from <c>streamboot serve</c> (the URLs of its boot script, with the key)
/// and from busybox httpd (the same files, same network, same host), in
/// turn, several times, printing a marker after each pair; the console's
/// arrival times give each download's seconds.
/// </summary>
internal static partial class IpxeDownloads
{
    private const string Mac = "52:54:00:b7:00:03";

    public static async Task<int> RunAsync(int rounds)
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "testos");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-dl1");
        await site.Cli.OkAsync("assign", "lab-dl1", "testos");
        await site.StartServerAsync();
        var testOs = await TestOs.FolderAsync();
        var www = site.Folder.Combine("www");
        Directory.CreateDirectory(www);
        File.Copy(Path.Combine(testOs, "vmlinuz"), Path.Combine(www, "vmlinuz"));
        File.Copy(Path.Combine(testOs, "initrd.img"), Path.Combine(www, "initrd.img"));

        var script = (await site.Network.ExecAsync("curl", "-sf", $"{site.BaseUrl}/boot.ipxe?mac={Mac}")).Stdout;
        var kernel = KernelUrl().Match(script).Groups[1].Value;
        var initrd = InitrdUrl().Match(script).Groups[1].Value;
        if (kernel.Length == 0 || initrd.Length == 0)
        {
            throw new InvalidOperationException("no kernel or initrd URL in Streamboot's script:\n" + script);
        }

        var peer = $"http://{site.Network.ServerAddress}:8081";
        var s = new StringBuilder("#!ipxe\n");
        for (var round = 1; round <= rounds; round++)
        {
            // Alternate which server goes first, so neither always follows the other.
            var order = round % 2 == 1 ? new[] { ("streamboot", kernel, initrd), ("httpd", $"{peer}/vmlinuz", $"{peer}/initrd.img") } : [("httpd", $"{peer}/vmlinuz", $"{peer}/initrd.img"), ("streamboot", kernel, initrd)];
            foreach (var (name, k, i) in order)
            {
                s.Append(CultureInfo.InvariantCulture, $"echo SB-START-{round}-{name}\nimgfetch --name k {k} || goto failed\nimgfetch --name i {i} || goto failed\necho SB-END-{round}-{name}\nimgfree\n");
            }
        }

        s.Append("echo SB-ALL-DONE\nexit\n:failed\necho SB-FAILED\nexit\n");
        await File.WriteAllTextAsync(Path.Combine(www, "fetch.ipxe"), s.ToString());
        using var httpd = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", site.Network.Name, "busybox", "httpd", "-f", "-p", "0.0.0.0:8081", "-h", www]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("cannot start busybox httpd");
        try
        {

            await site.StartIpxeDhcpAsync($"{peer}/fetch.ipxe");
            await using var vm = await QemuVm.StartAsync(site.Network, Mac, site.Folder.Path);
            await vm.WaitForAsync("SB-ALL-DONE", TimeSpan.FromMinutes(10));
            var size = new FileInfo(Path.Combine(www, "vmlinuz")).Length + new FileInfo(Path.Combine(www, "initrd.img")).Length;
            Console.WriteLine($"iPXE (QEMU e1000, TCG) fetching kernel + initrd, {size / 1e6:F1} MB, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            var times = new Dictionary<string, List<double>> { ["streamboot"] = [], ["httpd"] = [] };
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var name in times.Keys)
                {
                    var seconds = vm.SecondsUntilSeen($"SB-END-{round}-{name}")!.Value - vm.SecondsUntilSeen($"SB-START-{round}-{name}")!.Value;
                    times[name].Add(seconds);
                    Console.WriteLine($"round {round} {name}: {seconds:F2} s, {size / 1e6 / seconds:F1} MB/s");
                }
            }

            var ratios = times["httpd"].Zip(times["streamboot"], (h, sb) => h / sb).Order().ToList();
            Console.WriteLine($"busybox httpd time / streamboot time: median {ratios[ratios.Count / 2]:F2}x (>1: Streamboot faster; {ratios[0]:F2}-{ratios[^1]:F2})");
            return 0;
        }
        finally
        {
            httpd.Kill();
            await httpd.WaitForExitAsync();
        }
    }

    [GeneratedRegex(@"^kernel (\S+)", RegexOptions.Multiline)]
    private static partial Regex KernelUrl();

    [GeneratedRegex(@"^initrd (\S+/initrd\.img\S*)", RegexOptions.Multiline)]
    private static partial Regex InitrdUrl();
}
