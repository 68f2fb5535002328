using System.Globalization;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Metrics;

/// <summary>
/// DHCP's counters in <c>/metrics</c>: <c>streamboot serve --dhcp full</c>
/// in a namespace on a private boot network, busybox udhcpc on another host
/// of it taking a lease as a PXE ROM would (DISCOVER, OFFER, REQUEST, ACK).
/// The scrape from the server's own loopback passes promtool and counts each
/// message; one from an address on the boot network is outside the default allow-list.
/// </summary>
public sealed class DhcpMetricsTests : IDisposable
{
    private readonly TempFolder _folder = new("dhcp-metrics");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_lease_shows_as_discover_offer_request_ack_and_the_boot_network_itself_may_not_read_it()
    {
        var udhcpc = ProcessRunner.Find("udhcpc", "/usr/sbin", "/sbin")
            ?? throw new InvalidOperationException("udhcpc is not installed; apt-get install udhcpc (test.sh installs it)");
        await using var network = await BootNetwork.CreateAsync();
        var serverNs = await network.AddHostAsync($"{network.Prefix}.2");
        var port = Ports.Free().ToString(CultureInfo.InvariantCulture);
        await using var server = ServerProcess.StartIn(
            serverNs,
            ["--data", _folder.Combine("data"), "--bind", "0.0.0.0", "--http-port", port, "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture),
             "--dhcp", "full", "--dhcp-interface", "eth0", "--dhcp-range", $"{network.Prefix}.100-{network.Prefix}.150"],
            new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = "0", ["STREAMBOOT_ISCSI_PORT"] = "0" });
        await server.WaitForOutputAsync("Metrics at /metrics for 127.0.0.0/8,::1/128", TimeSpan.FromMinutes(2));

        var (clientNs, links) = await network.AddClientHostAsync(1, _ => "02:fa:00:00:ee:01");
        var lease = await ProcessRunner.RunAsync(
            "ip",
            ["netns", "exec", clientNs, udhcpc, "-i", links[0], "-f", "-q", "-n", "-t", "8", "-T", "2", "-s", "/bin/true", "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
            timeout: TimeSpan.FromMinutes(1));
        Assert.True(lease.ExitCode == 0, $"udhcpc got no lease: {lease}\n{server.Output}");

        var scrape = await ProcessRunner.RunAsync("ip", ["netns", "exec", serverNs, "curl", "-sS", "--fail", $"http://127.0.0.1:{port}/metrics"]);
        Assert.True(scrape.ExitCode == 0, scrape.ToString());
        var site = Scrape.Parse(scrape.Stdout);
        await Promtool.CheckAsync(scrape.Stdout);
        foreach (var (direction, type) in new[] { ("received", "discover"), ("sent", "offer"), ("received", "request"), ("sent", "ack") })
        {
            Assert.True(site.Sum("streamboot_dhcp_messages_total", ("direction", direction), ("type", type)) >= 1, $"no {type} {direction}:\n{scrape.Stdout}");
        }

        Assert.Equal(0, site.Sum("streamboot_dhcp_messages_total", ("direction", "sent"), ("type", "nak")));

        // An address on the boot network is not this machine's loopback: by default it may not read the site's metrics.
        var fromClient = await ProcessRunner.RunAsync("ip", ["netns", "exec", serverNs, "curl", "-sS", "--interface", $"{network.Prefix}.2", "-o", "/dev/null", "-w", "%{http_code}", $"http://{network.Prefix}.2:{port}/metrics"]);
        Assert.Equal("403", fromClient.Stdout);
    }
}
