using System.Net;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Answers;

/// <summary>Bad datagrams over the wire: each is dropped with a logged reason, and the server still answers.</summary>
public sealed class GarbageTests
{
    [Fact]
    public async Task Every_kind_of_bad_datagram_is_dropped_with_its_reason_and_a_good_discover_is_still_answered()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        using var client = RawDhcpClient.Open(bench.Link);
        var bad = Datagrams.Bad().ToList();
        foreach (var (_, datagram, _, _) in bad)
        {
            await client.BroadcastAsync(datagram);
        }

        var offer = await client.ExchangeAsync(Requests.PxeDiscover(MacAddress.Parse("02:5b:00:00:02:01"), DhcpClientArchitecture.IntelX86Pc));
        Assert.Equal(bench.Link.Address(100), offer.Yiaddr);

        var counters = bench.Server.Counters;
        await Eventually.TrueAsync(() => counters.TotalDropped == bad.Count);
        foreach (var group in bad.GroupBy(b => b.Reason))
        {
            Assert.True(counters.Dropped(group.Key) == group.Count(), $"{group.Key}: {counters.Dropped(group.Key)} dropped, {group.Count()} sent\n{bench.Log}");
        }

        foreach (var (name, datagram, reason, error) in bad)
        {
            var logged = reason == DhcpDropReason.Malformed
                ? bench.Log.Contains(3004, $"{datagram.Length} bytes") && bench.Log.Contains(3004, error.ToString())
                : bench.Log.Contains(3003, reason.ToString());
            Assert.True(logged, $"{name}: no log line for {reason} {error}\n{bench.Log}");
        }
    }

    [Fact]
    public async Task Random_datagrams_and_mutated_packets_never_stop_the_server()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        // Sent from another port: the answers to mutated-but-valid requests must not fill the receiving socket.
        using var sender = RawDhcpClient.Open(bench.Link, port: 0);
        var random = new Random(67);
        var valid = Requests.IpxeDiscover(MacAddress.Parse("02:5b:00:00:02:02"), DhcpClientArchitecture.EfiBc).ToArray();
        for (var i = 0; i < 300; i++)
        {
            byte[] datagram;
            if (i % 2 == 0)
            {
                datagram = new byte[random.Next(0, 700)];
                random.NextBytes(datagram);
            }
            else
            {
                datagram = (byte[])valid.Clone();
                for (var flips = random.Next(1, 8); flips > 0; flips--)
                {
                    datagram[random.Next(datagram.Length)] = (byte)random.Next(256);
                }

                datagram = datagram[..random.Next(200, datagram.Length + 1)];
            }

            await sender.BroadcastAsync(datagram);
            if (i % 25 == 24)
            {
                // Paced, so the kernel drops none of them for a full socket buffer.
                for (var wait = 0; wait < 100 && bench.Server.Counters.Received < i + 1; wait++)
                {
                    await Task.Delay(20);
                }
            }
        }

        using var client = RawDhcpClient.Open(bench.Link);
        var request = Requests.PxeDiscover(MacAddress.Parse("02:5b:00:00:02:03"), DhcpClientArchitecture.IntelX86Pc);
        await client.BroadcastAsync(request);
        var reply = await client.ReceiveAsync(request.TransactionId, TimeSpan.FromSeconds(5));
        Assert.True(reply is not null, $"{bench.Server.Counters}\n{string.Join('\n', bench.Log.Lines.TakeLast(5))}");
        var offer = reply.Value.Packet;
        Assert.Equal("undionly.kpxe", offer.File);
        Assert.Equal(IPAddress.Any, offer.Yiaddr);
        Assert.Equal(0, bench.Server.Counters.Dropped(DhcpDropReason.HostFailed));
        Assert.Equal(301, bench.Server.Counters.Received);
    }

    [Fact]
    public async Task A_failing_boot_policy_costs_one_answer_not_the_server()
    {
        var calls = 0;
        var policy = new DelegateBootPolicy(r => Interlocked.Increment(ref calls) == 1
            ? throw new InvalidOperationException("database is down")
            : DhcpBootDecision.Boot("undionly.kpxe"));
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy, policy: policy);
        using var client = RawDhcpClient.Open(bench.Link);
        var first = Requests.PxeDiscover(MacAddress.Parse("02:5b:00:00:02:04"), DhcpClientArchitecture.IntelX86Pc);
        await client.BroadcastAsync(first);
        Assert.Null(await client.ReceiveAsync(first.TransactionId, TimeSpan.FromSeconds(1)));

        var offer = await client.ExchangeAsync(Requests.PxeDiscover(MacAddress.Parse("02:5b:00:00:02:04"), DhcpClientArchitecture.IntelX86Pc));
        Assert.Equal("undionly.kpxe", offer.File);
        Assert.Equal(1, bench.Server.Counters.Dropped(DhcpDropReason.HostFailed));
        Assert.True(bench.Log.Contains(3007, "database is down"), bench.Log.ToString());
    }
}
