using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Peers;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Answers;

/// <summary>
/// What an attacker on the boot network sends, against the server with its
/// defaults, while a real client (busybox udhcpc) boots beside it: oversized
/// datagrams, datagrams of repeated options, a lease store that blocks, and
/// text meant to forge log lines. Behaviour is checked, never time.
/// </summary>
public sealed class HostileInputTests
{
    [Fact]
    public async Task Datagrams_over_the_size_limit_are_dropped_unread_while_udhcpc_gets_its_lease()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        var (huge, _) = Datagrams.RepeatedOptions(Datagrams.LargestUdpPayload, "one code in 1-byte pieces");
        var (within, _) = Datagrams.RepeatedOptions(bench.Options.MaxDatagramSize, "254 codes in 1-byte pieces");

        // From another port than udhcpc's 68, a pair at a time: the 65 KB one
        // (dropped unread) and one of the largest size read (parsed, answered).
        using var flooder = RawDhcpClient.Open(bench.Link, port: 0);
        using var stop = new CancellationTokenSource();
        var pairs = 0;
        var flood = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var received = bench.Server.Counters.Received;
                await flooder.BroadcastAsync(huge);
                await flooder.BroadcastAsync(within);
                Interlocked.Increment(ref pairs);

                // Paced, so that the kernel drops none for a full socket buffer.
                await Eventually.TrueAsync(() => bench.Server.Counters.Received >= received + 2);
            }
        });

        Assert.True(await Eventually.TrueAsync(() => Volatile.Read(ref pairs) >= 5), "the flood did not start");
        var bound = (await Udhcpc.LeaseOnceAsync(bench, Udhcpc.BiosPxe)).Last("bound");
        await stop.CancelAsync();
        await flood;

        Assert.True(bound is not null, bench.Log.ToString());
        Assert.Equal("undionly.kpxe", bound["boot_file"]);
        var counters = bench.Server.Counters;
        Assert.True(await Eventually.TrueAsync(() => counters.Dropped(DhcpDropReason.TooLarge) == pairs), $"{pairs} sent, {counters.Dropped(DhcpDropReason.TooLarge)} dropped as too large");
        Assert.Equal(0, counters.Dropped(DhcpDropReason.Malformed));

        // Logged, but a few lines, not one per datagram.
        var lines = bench.Log.Lines.Count(l => l.EventId == 3010);
        Assert.True(lines >= 1 && lines <= bench.Options.RefusalLogLinesPerMinute * 2, $"{lines} lines for {pairs} datagrams");
        Assert.True(bench.Log.Contains(3010, $"{Datagrams.LargestUdpPayload} bytes"), bench.Log.ToString());
    }

    [Fact]
    public async Task A_65_KB_datagram_of_repeated_options_within_a_raised_limit_is_parsed_and_answered()
    {
        // With the limit raised to any UDP datagram, the parser itself must
        // cope: the hostile DISCOVER (one option in 21,755 pieces) gets its OFFER.
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, maxDatagramSize: 65535);
        var (huge, joined) = Datagrams.RepeatedOptions(Datagrams.LargestUdpPayload, "one code in 1-byte pieces");
        Assert.True(joined[60].Length > 20_000);
        using var client = RawDhcpClient.Open(bench.Link);
        await client.BroadcastAsync(huge);
        var offer = await client.ReceiveAsync(0x5b5b0001, TimeSpan.FromSeconds(5));
        Assert.True(offer is not null, bench.Log.ToString());
        Assert.Equal(DhcpMessageType.Offer, offer.Value.Packet.MessageType);
        Assert.Equal(0, bench.Server.Counters.Dropped(DhcpDropReason.TooLarge));

        // And udhcpc still gets its lease after it.
        var bound = (await Udhcpc.LeaseOnceAsync(bench)).Last("bound");
        Assert.True(bound is not null, bench.Log.ToString());
    }

    [Fact]
    public async Task A_lease_store_that_blocks_its_thread_does_not_stop_the_server_reading()
    {
        BlockingLeaseStore? store = null;
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, wrapStore: s => store = new BlockingLeaseStore(s));
        using var held = store!;
        using var client = RawDhcpClient.Open(bench.Link);
        var mac = MacAddress.Parse("02:5b:00:00:04:01");
        var offer = await client.ExchangeAsync(Requests.PxeDiscover(mac, DhcpClientArchitecture.IntelX86Pc));
        var request = Requests.New(mac, DhcpMessageType.Request, broadcast: true);
        request.Options.Set(DhcpOptionCode.RequestedIpAddress, offer.Yiaddr).Set(DhcpOptionCode.ServerIdentifier, bench.ServerAddress);

        held.Hold();
        try
        {
            // The REQUEST's lease write now holds a thread in the store...
            await client.BroadcastAsync(request);
            Assert.True(await Eventually.TrueAsync(() => held.Waiting == 1), "the lease write never started");

            // ...and the receive loop still reads: bad datagrams are dropped meanwhile.
            for (var i = 0; i < 5; i++)
            {
                await client.BroadcastAsync(Datagrams.Build([53, 1, 42, 255]));
            }

            Assert.True(
                await Eventually.TrueAsync(() => bench.Server.Counters.Dropped(DhcpDropReason.Malformed) == 5),
                $"the loop stopped reading while the store was blocked: {bench.Server.Counters}");
            Assert.Equal(1, held.Waiting);
        }
        finally
        {
            held.Release();
        }

        // Once the store returns, the client gets its ACK.
        var ack = await client.ReceiveAsync(request.TransactionId, TimeSpan.FromSeconds(5));
        Assert.True(ack is not null, bench.Log.ToString());
        Assert.Equal(DhcpMessageType.Ack, ack.Value.Packet.MessageType);
    }

    [Fact]
    public async Task Client_text_in_log_lines_is_escaped_and_cut()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        using var client = RawDhcpClient.Open(bench.Link);

        // A PXE client whose vendor class carries a forged log line (answered, event 3002)...
        var pxe = Requests.PxeDiscover(MacAddress.Parse("02:5b:00:00:04:02"), DhcpClientArchitecture.IntelX86Pc);
        pxe.Options.Set(DhcpOptionCode.VendorClassIdentifier, "PXEClient\nDHCP forged line\u001b[2J");
        await client.ExchangeAsync(pxe);

        // ...and a non-PXE client with 3,000 bytes of vendor class (dropped in proxy mode, 3003).
        var other = Requests.New(MacAddress.Parse("02:5b:00:00:04:03"), DhcpMessageType.Discover, broadcast: true);
        other.Options.Set(DhcpOptionCode.VendorClassIdentifier, "evil\r\nDHCP forged line" + new string('v', 3000));
        await client.BroadcastAsync(other);

        Assert.True(await Eventually.TrueAsync(() => bench.Log.Contains(3003, "evil\\x0d\\x0aDHCP forged line")), bench.Log.ToString());
        Assert.True(bench.Log.Contains(3002, "PXEClient\\x0aDHCP forged line\\x1b[2J"), bench.Log.ToString());
        foreach (var (id, _, message) in bench.Log.Lines)
        {
            Assert.False(message.Contains('\n', StringComparison.Ordinal) || message.Contains('\u001b', StringComparison.Ordinal), $"{id}: {message}");
            Assert.True(message.Length < 1000, $"{id}: {message.Length} characters");
        }
    }
}
