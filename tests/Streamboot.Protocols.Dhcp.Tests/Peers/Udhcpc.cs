using Streamboot.Protocols.Dhcp.Tests.Support;
using Streamboot.Testing;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>busybox udhcpc (Debian's udhcpc package) in the test's namespace.</summary>
public static class Udhcpc
{
    /// <summary>A PXE BIOS ROM's vendor class and option 93 = 0, as udhcpc flags.</summary>
    public static readonly string[] BiosPxe = ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"];

    /// <summary>x64 UEFI firmware: option 93 = 7.</summary>
    public static readonly string[] EfiX64Pxe = ["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"];

    /// <summary>iPXE: user class "iPXE" (77 = 69 50 58 45) beside the PXE vendor class.</summary>
    public static readonly string[] Ipxe = ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000", "-x", "0x4d:69505845"];

    /// <summary>
    /// Gets one lease and exits (-q), trying 3 times a second apart (-n: fail
    /// rather than wait); returns the script's events.
    /// </summary>
    public static async Task<ScriptEvents> LeaseOnceAsync(DhcpBench bench, params string[] flags)
    {
        var (script, output) = Script(bench.Folder);
        var result = await bench.Link.RunAsync(
            Tools.Udhcpc,
            ["-i", bench.Link.ClientInterface, "-f", "-q", "-n", "-t", "3", "-T", "1", "-A", "1", "-s", script, .. flags],
            TimeSpan.FromSeconds(30));
        var events = ScriptEvents.Read(output);
        Assert.True(result.ExitCode == 0, $"udhcpc failed: {result}\n{events}\n--- server log\n{bench.Log}");
        return events;
    }

    /// <summary>Runs udhcpc and expects it to give up: no usable answer.</summary>
    public static async Task<(ProcessResult Result, ScriptEvents Events)> TryLeaseAsync(DhcpBench bench, params string[] flags)
    {
        var (script, output) = Script(bench.Folder);
        var result = await bench.Link.RunAsync(
            Tools.Udhcpc,
            ["-i", bench.Link.ClientInterface, "-f", "-q", "-n", "-t", "2", "-T", "1", "-A", "1", "-s", script, .. flags],
            TimeSpan.FromSeconds(30));
        return (result, ScriptEvents.Read(output));
    }

    /// <summary>udhcpc that stays (renewing at T1) until stopped; -R releases the lease when it is stopped.</summary>
    public static (BackgroundProcess Process, string Output) StartStaying(DhcpBench bench, params string[] flags)
    {
        var (script, output) = Script(bench.Folder);
        var process = BackgroundProcess.Start(
            Tools.Ip,
            ["netns", "exec", bench.Link.Namespace, Tools.Udhcpc, "-i", bench.Link.ClientInterface, "-f", "-t", "3", "-T", "1", "-s", script, .. flags]);
        return (process, output);
    }

    private static (string Script, string Output) Script(TempFolder folder)
    {
        var name = $"udhcpc-{Guid.NewGuid():N}";
        var output = folder.Combine(name + ".out");
        var script = ScriptEvents.WriteScript(folder.Combine(name + ".sh"), output, """
            case "$1" in
              bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
              deconfig) ip addr flush dev "$interface" ;;
            esac
            """);
        return (script, output);
    }
}
