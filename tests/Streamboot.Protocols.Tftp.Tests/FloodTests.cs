using System.Net;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>
/// Floods of the request port, as an attacker sends them, against the
/// server with the defaults <c>streamboot serve</c> runs with: the flood
/// comes from raw sockets on other loopback addresses (loopback holds all of
/// 127.0.0.0/8), real clients (tftp-hpa, atftp, curl) from 127.0.0.1 at the
/// same time. The flood gets bounded resources for a bounded time; the real
/// clients get their files, byte for byte.
/// </summary>
public sealed class FloodTests
{
    private static readonly TftpServerOptions s_defaults = new();

    /// <summary>What the attack sent: the longest timeout RFC 2349 allows, and then never an ACK.</summary>
    private static readonly byte[] s_hostileRequest =
        RawTftpClient.Request(TftpOpcode.ReadRequest, "undionly.kpxe", "octet", ("timeout", "255"), ("tsize", "0"), ("blksize", "1432"));

    [Fact]
    public async Task Eleven_hundred_requests_with_timeout_255_from_one_address_leave_real_clients_served()
    {
        await using var server = TftpTestServer.Start();
        var original = server.AddRandom("undionly.kpxe", 74_213);
        using var attacker = new RawTftpClient(server.EndPoint, IPAddress.Parse("127.0.0.2"));
        await FloodAsync(server, [attacker], 1100);

        // The address got its share of slots and no more.
        var during = server.Server.Statistics;
        Assert.True(during.ActiveTransfers <= s_defaults.MaxTransfersPerClient, during.ToString());
        Assert.True(during.RequestsDroppedPerClient >= 1100 - (2 * s_defaults.MaxTransfersPerClient), during.ToString());

        // And the timeout it asked for was not granted: left out of the OACK.
        var oack = await attacker.ExpectAsync();
        Assert.Equal(TftpOpcode.OptionAcknowledgment, oack.Opcode);
        Assert.False(oack.Options.ContainsKey("timeout"), oack.ToString());
        Assert.Equal("74213", oack.Options["tsize"]);

        // Meanwhile, from 127.0.0.1, the real clients get the file.
        await Task.WhenAll(new[] { "tftp-hpa", "atftp", "curl" }.Select(async client =>
        {
            var local = server.Download(client);
            await Peers.FetchAsync(client, server.Port, "undionly.kpxe", local);
            Assert.True(Peers.Sha256(original) == Peers.Sha256(local), $"{client} got other bytes");
        }));

        // Refused, and said so in a few lines (not one per request).
        var lines = server.Log.Lines.Count(l => l.EventId == 4006);
        Assert.True(lines >= 1 && lines <= 2 * s_defaults.RefusalLogLinesPerMinute, $"{lines} lines for {during.RequestsDroppedPerClient} drops");

        // The flood's transfers run on the server's retransmission schedule
        // (1 s, 5 times), not 6 x 255 s: they are abandoned and every slot is free.
        await server.WaitIdleAsync(TimeSpan.FromSeconds(60));
        var after = server.Server.Statistics;
        Assert.Equal(3, after.TransfersCompleted);
        Assert.Equal(after.TransfersStarted - 3, after.TransfersAbandoned);
        Assert.Equal(0, after.TransfersFailed);
    }

    [Fact]
    public async Task A_flood_from_many_addresses_that_takes_every_slot_lets_them_go_and_a_real_client_gets_in()
    {
        // Spoofed sources defeat the limit per address: 70 addresses of 16
        // requests each take all 1024 slots. Then the retry budget is what frees them.
        await using var server = TftpTestServer.Start();
        var original = server.AddRandom("undionly.kpxe", 74_213);
        var machines = (s_defaults.MaxTransfers / s_defaults.MaxTransfersPerClient) + 6;
        var attackers = Enumerable.Range(0, machines).Select(i => new RawTftpClient(server.EndPoint, RawTftpClient.Machine(i))).ToList();
        try
        {
            await FloodAsync(server, attackers, s_defaults.MaxTransfersPerClient);
            // Every slot taken: requests were dropped at the global limit.
            var full = server.Server.Statistics;
            Assert.True(full.RequestsDropped > full.RequestsDroppedPerClient, full.ToString());

            // tftp-hpa sends its request again every 5 s for 25 s: one of them
            // finds a free slot once the flood's transfers are abandoned.
            var local = server.Download("hpa");
            await Peers.FetchAsync("tftp-hpa", server.Port, "undionly.kpxe", local);
            Assert.Equal(Peers.Sha256(original), Peers.Sha256(local));
            await server.WaitIdleAsync(TimeSpan.FromSeconds(60));
            var after = server.Server.Statistics;
            Assert.Equal(1, after.TransfersCompleted);
            Assert.True(after.TransfersAbandoned >= s_defaults.MaxTransfers, after.ToString());
        }
        finally
        {
            attackers.ForEach(a => a.Dispose());
        }
    }

    /// <summary>
    /// Sends <paramref name="perAttacker"/> hostile requests from each socket,
    /// paced so that the request socket's buffer drops none: each batch is
    /// seen by the server (started or dropped) before the next goes.
    /// </summary>
    private static async Task FloodAsync(TftpTestServer server, IReadOnlyList<RawTftpClient> attackers, int perAttacker)
    {
        var sent = 0L;
        var seenBefore = Seen(server);
        foreach (var attacker in attackers)
        {
            for (var i = 0; i < perAttacker; i++)
            {
                attacker.Send(s_hostileRequest);
                if (++sent % 50 == 0)
                {
                    await WaitSeenAsync(server, seenBefore + sent);
                }
            }
        }

        await WaitSeenAsync(server, seenBefore + sent);
    }

    private static long Seen(TftpTestServer server)
    {
        var s = server.Server.Statistics;
        return s.TransfersStarted + s.RequestsDropped;
    }

    private static async Task WaitSeenAsync(TftpTestServer server, long expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (Seen(server) < expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the server saw {Seen(server)} of {expected} requests: {server.Server.Statistics}");
            await Task.Delay(5);
        }
    }
}
