using System.Diagnostics;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;
using Xunit.Abstractions;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>
/// A real PXE ROM: QEMU (emulated, no KVM) boots from its e1000 NIC, whose
/// ROM is iPXE (Debian's ipxe-qemu), on a bridge in the test's namespace
/// that reaches the server over the veth pair. Success is iPXE fetching the
/// boot script URL the server handed out, from a small HTTP listener on the
/// server's address.
/// </summary>
public sealed class QemuIpxeTests(ITestOutputHelper output)
{
    private const string Mac = "52:54:00:5b:0e:01";

    [Fact]
    public async Task Full_mode_boots_ipxe_straight_to_its_script()
    {
        string? url = null;
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, routerAdvertisements: true, policy: new DelegateBootPolicy(r => r.IsIpxe ? DhcpBootDecision.Boot(url!) : DhcpBootDecision.NoBoot));
        await using var http = new TinyHttpServer(bench.ServerAddress, "#!ipxe\necho streamboot\nsleep 30\n");
        url = $"http://{bench.ServerAddress}:{http.Port}/boot.ipxe";
        await BridgeAndTapAsync(bench.Link);

        var elapsed = await BootUntilScriptAsync(bench, http);
        output.WriteLine($"full mode: QEMU start to the script request in {elapsed.TotalSeconds:F1} s");

        Assert.Contains(bench.Store.Leases, l => l.Mac == MacAddress.Parse(Mac));
        Assert.True(bench.Log.Contains(3002, "Ack to " + Mac), bench.Log.ToString());
        // With 175.176 (no ProxyDHCP wait) and a router advertisement (no IPv6 wait) iPXE goes
        // straight on: about 3.5 s here, against 18.5 s without the advertisement (iPXE's ~13 s
        // IPv6 wait, DESIGN.md); the margin is for emulation on a busy machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(12), $"iPXE took {elapsed} to fetch its script\n{bench.Log}");
    }

    [Fact]
    public async Task Proxy_mode_boots_ipxe_beside_dnsmasq_handing_out_the_address()
    {
        string? url = null;
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy, policy: new DelegateBootPolicy(r => r.IsIpxe ? DhcpBootDecision.Boot(url!) : DhcpBootDecision.NoBoot));
        await using var http = new TinyHttpServer(bench.ServerAddress, "#!ipxe\necho streamboot\nsleep 30\n");
        url = $"http://{bench.ServerAddress}:{http.Port}/boot.ipxe";
        await BridgeAndTapAsync(bench.Link);

        // The network's own DHCP server, in the namespace on the bridge: addresses, no boot information.
        await Tools.CheckAsync(Tools.Ip, "-n", bench.Link.Namespace, "addr", "add", $"{bench.Link.Address(2)}/24", "dev", "br0");
        var leases = bench.Folder.Combine("dnsmasq.leases");
        await using var dnsmasq = BackgroundProcess.Start(
            Tools.Ip, "netns", "exec", bench.Link.Namespace, Tools.Dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root",
            "--interface=br0", "--bind-interfaces", $"--dhcp-range={bench.Link.Address(160)},{bench.Link.Address(170)},255.255.255.0,1h",
            $"--dhcp-leasefile={leases}", $"--pid-file={bench.Folder.Combine("dnsmasq.pid")}", "--log-dhcp");

        var elapsed = await BootUntilScriptAsync(bench, http);
        output.WriteLine($"proxy mode: QEMU start to the script request in {elapsed.TotalSeconds:F1} s");

        Assert.Contains(Mac, await File.ReadAllTextAsync(leases), StringComparison.Ordinal);
        Assert.Empty(bench.Store.Leases);
        Assert.True(bench.Server.Counters.Sent(DhcpMessageType.Offer) >= 1, bench.Log.ToString());
    }

    private static async Task BridgeAndTapAsync(TestLink link)
    {
        string[][] commands =
        [
            ["link", "add", "br0", "type", "bridge"],
            ["link", "set", link.ClientInterface, "master", "br0"],
            ["tuntap", "add", "tap0", "mode", "tap"],
            ["link", "set", "tap0", "master", "br0"],
            ["link", "set", "tap0", "up"],
            ["link", "set", "br0", "up"],
        ];
        foreach (var command in commands)
        {
            await Tools.CheckAsync(Tools.Ip, ["-n", link.Namespace, .. command]);
        }
    }

    /// <summary>Runs QEMU until iPXE asks for its script; returns how long that took.</summary>
    private static async Task<TimeSpan> BootUntilScriptAsync(DhcpBench bench, TinyHttpServer http)
    {
        var clock = Stopwatch.StartNew();
        await using var qemu = BackgroundProcess.Start(
            Tools.Ip, "netns", "exec", bench.Link.Namespace, Tools.Qemu, "-accel", "tcg", "-m", "128", "-display", "none", "-serial", "none",
            "-monitor", "none", "-no-reboot", "-boot", "n", "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
            "-device", $"e1000,netdev=n0,mac={Mac}");
        var fetched = await qemu.WaitForAsync(_ => !http.Requests.IsEmpty || qemu.HasExited, TimeSpan.FromSeconds(90));
        Assert.True(fetched && !http.Requests.IsEmpty, $"iPXE never asked for its script\n{qemu.Stderr}\n--- server\n{bench.Log}");
        Assert.StartsWith("GET /boot.ipxe ", http.Requests.First().RequestLine, StringComparison.Ordinal);
        return clock.Elapsed;
    }
}
