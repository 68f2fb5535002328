using Streamboot.Protocols.Dhcp.RouterAdvertisements;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.RouterAdvertisements;

/// <summary>Router advertisements on the test link, seen by rdisc6 (ndisc6) and tcpdump in the client namespace.</summary>
public sealed class RouterAdvertiserTests
{
    [Fact]
    public async Task A_router_solicitation_is_answered_with_lifetime_0_and_no_prefix()
    {
        await using var link = await TestLink.CreateAsync();
        var log = new LogCapture();
        await using var advertiser = new RouterAdvertiser(new RouterAdvertiserOptions { InterfaceName = link.HostInterface, Interval = TimeSpan.FromMinutes(10) }, log);
        advertiser.Start();
        await WaitAsync(() => advertiser.Sent >= 1);

        // rdisc6 sends a solicitation and prints the first advertisement it gets.
        var result = await link.RunAsync(Tools.Rdisc6, ["-1", "-w", "3000", "-r", "2", link.ClientInterface]);
        Assert.True(result.ExitCode == 0, $"{result}\n{log}");
        var text = result.Stdout;
        Assert.Contains("Router lifetime", text, StringComparison.Ordinal);
        Assert.Matches(@"Router lifetime\s*:\s*0 \(0x00000000\) seconds", text);
        Assert.Matches(@"Stateful address conf\.\s*:\s*No", text);
        Assert.Matches(@"Stateful other conf\.\s*:\s*No", text);
        Assert.DoesNotContain("Prefix", text, StringComparison.Ordinal);
        Assert.Contains("from fe80::", text, StringComparison.Ordinal);
        Assert.True(advertiser.SolicitationsReceived >= 1, log.ToString());
        await WaitAsync(() => advertiser.Sent >= 2);
    }

    [Fact]
    public async Task Advertisements_also_go_out_unsolicited_with_hop_limit_255()
    {
        await using var link = await TestLink.CreateAsync();
        var pcap = Path.Combine(Path.GetTempPath(), $"streamboot-ra-{Environment.ProcessId}-{link.Subnet}.pcap");
        var dump = BackgroundProcess.Start(
            Tools.Ip, "netns", "exec", link.Namespace, Tools.Tcpdump, "-Z", "root", "--immediate-mode", "-i", link.ClientInterface, "-U", "-n", "-w", pcap, "icmp6 and ip6[40] == 134");
        try
        {
            await using (dump)
            {
                Assert.True(await dump.WaitForAsync(p => p.Stderr.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), dump.Stderr);
                await using (var advertiser = new RouterAdvertiser(new RouterAdvertiserOptions { InterfaceName = link.HostInterface, Interval = TimeSpan.FromSeconds(1) }))
                {
                    advertiser.Start();
                    await WaitAsync(() => advertiser.Sent >= 3);
                    await Task.Delay(200);
                }

                await dump.StopAsync();
            }

            var result = await Tools.RunAsync(Tools.Tshark, ["-r", pcap, "-T", "fields", "-e", "ipv6.hlim", "-e", "ipv6.dst", "-e", "icmpv6.nd.ra.router_lifetime"]);
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 3, result.ToString());
            Assert.All(lines, l => Assert.Equal("255\tff02::1\t0", l));
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Fact]
    public async Task A_link_not_ready_at_start_still_gets_advertisements_and_answers_once_it_is()
    {
        // As on a fresh bridge: no link-local address yet, so the first sends fail.
        // The socket must still receive solicitations afterwards, and stop cleanly.
        await using var link = await TestLink.CreateAsync();
        await Tools.CheckAsync(Tools.Ip, "link", "set", link.HostInterface, "down");
        var log = new LogCapture();
        var advertiser = new RouterAdvertiser(new RouterAdvertiserOptions { InterfaceName = link.HostInterface, Interval = TimeSpan.FromMinutes(10) }, log);
        try
        {
            advertiser.Start();
            await WaitAsync(() => log.Lines.Any(l => l.EventId == 3053));
            Assert.True(log.Lines.Any(l => l.EventId == 3053), log.ToString());
            await Tools.CheckAsync(Tools.Ip, "link", "set", link.HostInterface, "up");
            await WaitAsync(() => advertiser.Sent >= 1);

            var result = await link.RunAsync(Tools.Rdisc6, ["-1", "-w", "3000", "-r", "2", link.ClientInterface]);
            Assert.True(result.ExitCode == 0, $"{result}\n{log}");
            Assert.True(advertiser.SolicitationsReceived >= 1, log.ToString());
        }
        finally
        {
            await advertiser.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_dhcp_server_can_send_them_itself()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, routerAdvertisements: true);
        var result = await bench.Link.RunAsync(Tools.Rdisc6, ["-1", "-w", "3000", "-r", "2", bench.Link.ClientInterface]);
        Assert.True(result.ExitCode == 0, $"{result}\n{bench.Log}");
        Assert.True(bench.Log.Contains(3050, bench.Link.HostInterface), bench.Log.ToString());
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }
}
