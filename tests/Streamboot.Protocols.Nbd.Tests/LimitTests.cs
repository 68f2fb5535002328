using System.Net;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// What a client can make the server hold is bounded: replies it never reads
/// (per connection and server-wide), connections per address, time idle or
/// stalled. Each attack runs beside a well-behaved client (libnbd's nbdcopy)
/// whose data must come through intact.
/// </summary>
/// <remarks>
/// "Held" is measured from outside the accounting: the bytes the server read
/// from the device for replies (the copy path: zero-copy reads are off, so
/// every READ is read into a buffer of ours before it is sent). A server that
/// read the attacker's whole request stream would read 512 MiB.
/// </remarks>
public sealed class LimitTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task A_client_that_never_reads_its_replies_makes_the_server_read_only_its_limit_ahead()
    {
        const long Limit = 8 * MiB;
        await using var server = NbdTestServer.Start(new NbdServerOptions
        {
            MaxInFlightBytesPerConnection = Limit,
            ZeroCopyReads = false,
            SocketBufferSize = 256 * 1024,
        });
        server.AddRaw("disk", 32 * MiB, readOnly: true);
        server.AddRaw("attacked", 32 * MiB);
        await using var attacker = await RawNbdClient.OpenFromAsync(server.Port, "attacked", null, receiveBuffer: 4096);
        await SendReadsAsync(attacker, count: 128, length: 4 * MiB);

        await CheckLegitimateClientAsync(server);
        var read = await SettledAsync(() => server.Provider.BytesRead("attacked"));
        // The limit, plus what left into the kernel's socket buffers, plus one reply being sent.
        Assert.True(read <= Limit + (8 * MiB), $"the server read {read / MiB} MiB ahead for a client that reads nothing (limit {Limit / MiB} MiB)");
        Assert.True(server.Server.InFlightBytes <= Limit + NbdProtocol.MaxReplyHeaderSize);
        attacker.Abort();
    }

    [Fact]
    public async Task Connections_that_never_read_share_one_bounded_pool_and_the_others_go_on()
    {
        const long Pool = 40L * MiB;
        await using var server = NbdTestServer.Start(new NbdServerOptions
        {
            MaxInFlightBytesPerConnection = 64 * MiB,
            MaxInFlightBytes = Pool,
            ReservedInFlightBytesPerConnection = MiB,
            ZeroCopyReads = false,
            SocketBufferSize = 256 * 1024,
        });
        server.AddRaw("disk", 32 * MiB, readOnly: true);
        server.AddRaw("attacked", 32 * MiB);
        var attackers = new List<RawNbdClient>();
        for (var i = 0; i < 4; i++)
        {
            var attacker = await RawNbdClient.OpenFromAsync(server.Port, "attacked", IPAddress.Parse($"127.0.0.{10 + i}"), receiveBuffer: 4096);
            attackers.Add(attacker);
            await SendReadsAsync(attacker, count: 64, length: 4 * MiB);
        }

        // The pool is full now; a client reading its replies still gets its reserve's worth at a time.
        await CheckLegitimateClientAsync(server);
        var read = await SettledAsync(() => server.Provider.BytesRead("attacked"));
        // Without the pool, each attacker could hold 64 MiB: 256 MiB in all.
        Assert.True(read <= Pool + (4 * MiB) + (4 * 8 * MiB), $"four connections that read nothing made the server read {read / MiB} MiB ahead (pool {Pool / MiB} MiB)");
        foreach (var attacker in attackers)
        {
            attacker.Abort();
        }
    }

    [Fact]
    public async Task A_connection_whose_replies_stall_is_closed_and_gives_its_share_back()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { StallTimeout = TimeSpan.FromSeconds(1), ZeroCopyReads = false, SocketBufferSize = 256 * 1024 });
        server.AddRaw("disk", 32 * MiB);
        await using var attacker = await RawNbdClient.OpenFromAsync(server.Port, "disk", null, receiveBuffer: 4096);
        await SendReadsAsync(attacker, count: 64, length: 4 * MiB);
        await NbdTestServer.WaitForAsync(() => server.Provider.EndedSessions.Count == 1, "the stalled session to end");
        Assert.Equal(NbdSessionEndReason.Stalled, Assert.Single(server.Provider.EndedSessions).Reason);
        Assert.True(await attacker.ClosedByServerAsync());
        Assert.Equal(0, server.Server.InFlightBytes);
        Assert.Contains(server.Log.Entries, e => e.EventId == 2025);
        await Peers.NbdInfoAsync(server.Url("disk"));
    }

    [Fact]
    public async Task An_idle_connection_is_closed_and_a_client_can_connect_again()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { IdleTimeout = TimeSpan.FromSeconds(1) });
        server.AddRaw("disk", MiB);
        await using (var client = await RawNbdClient.OpenAsync(server.Port, "disk"))
        {
            await client.SendRequestAsync(NbdCommand.Read, 1, 0, 4096);
            Assert.Equal(NbdError.None, (await client.ReadSimpleReplyAsync(4096)).Error);
            Assert.True(await client.ClosedByServerAsync());
        }

        await NbdTestServer.WaitForAsync(() => server.Provider.EndedSessions.Count == 1, "the idle session to end");
        Assert.Equal(NbdSessionEndReason.IdleTimeout, Assert.Single(server.Provider.EndedSessions).Reason);
        Assert.Contains(server.Log.Entries, e => e.EventId == 2024);
        await Peers.NbdInfoAsync(server.Url("disk"));
    }

    [Fact]
    public async Task A_connection_waiting_for_a_slow_reply_is_not_idle()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(500) });
        var path = server.AddRaw("plain", MiB);
        // Every read takes longer than the idle timeout: the request is in flight all that time.
        server.Provider.Add("slow", () => new LatencyBlockDevice(ImageChain.Open(path, readOnly: true), TimeSpan.FromSeconds(2)), readOnly: true);
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        // GO and the READ in one write: the connection is never without a request in flight before the reply.
        var go = RawNbdClient.InfoRequest("slow");
        var read = new byte[28];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(read, NbdProtocol.RequestMagic);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(read.AsSpan(8), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(read.AsSpan(24), 4096);
        var option = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(option, NbdProtocol.IHaveOpt);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(8), (uint)NbdOption.Go);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(12), (uint)go.Length);
        await client.WriteAsync([.. option, .. go, .. read]);
        Assert.Equal(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
        var (error, cookie, data) = await client.ReadSimpleReplyAsync(4096);
        Assert.Equal((NbdError.None, 1ul, 4096), (error, cookie, data.Length));
        Assert.Empty(server.Provider.EndedSessions);
        Assert.True(await client.ClosedByServerAsync()); // idle once the reply is out
        await NbdTestServer.WaitForAsync(() => server.Provider.EndedSessions.Count == 1, "the idle session to end");
        Assert.Equal(NbdSessionEndReason.IdleTimeout, Assert.Single(server.Provider.EndedSessions).Reason);
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_limit_are_refused_and_logged_while_other_addresses_connect()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { MaxConnectionsPerAddress = 3 });
        server.AddRaw("disk", MiB);
        var first = IPAddress.Parse("127.0.0.21");
        var open = new List<RawNbdClient>();
        for (var i = 0; i < 3; i++)
        {
            open.Add(await RawNbdClient.OpenFromAsync(server.Port, "disk", first, null));
        }

        await using (var refused = await RawNbdClient.ConnectAsync(server.Port, first))
        {
            Assert.True(await refused.ClosedByServerAsync());
        }

        Assert.Contains(server.Log.Messages(2006), m => m.Contains("127.0.0.21", StringComparison.Ordinal));
        await using (var other = await RawNbdClient.OpenFromAsync(server.Port, "disk", IPAddress.Parse("127.0.0.22"), null))
        {
            await other.SendRequestAsync(NbdCommand.Read, 1, 0, 512);
            Assert.Equal(NbdError.None, (await other.ReadSimpleReplyAsync(512)).Error);
        }

        // A slot freed is a slot again.
        await open[0].SendRequestAsync(NbdCommand.Disc, 0, 0, 0);
        Assert.True(await open[0].ClosedByServerAsync());
        await NbdTestServer.WaitForAsync(() => server.Server.ConnectionCount == 2, "the closed connection to be gone");
        await using (var again = await RawNbdClient.OpenFromAsync(server.Port, "disk", first, null))
        {
            await again.SendRequestAsync(NbdCommand.Read, 2, 0, 512);
            Assert.Equal(NbdError.None, (await again.ReadSimpleReplyAsync(512)).Error);
        }

        foreach (var client in open)
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>READs that are never read back; the attacker's send may block once the server stops reading, so it runs on.</summary>
    private static async Task SendReadsAsync(RawNbdClient client, int count, uint length)
    {
        var requests = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var header = new byte[28];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header, NbdProtocol.RequestMagic);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)NbdCommand.Read);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), (ulong)i);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), (ulong)(i % 4) * length);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), length);
            requests.Add(header);
        }

        await client.WriteAsync([.. requests.SelectMany(r => r)]);
    }

    /// <summary>libnbd's nbdcopy reads an export out and writes one in; both must match byte for byte.</summary>
    private static async Task CheckLegitimateClientAsync(NbdTestServer server)
    {
        server.AddRaw("target", 16 * MiB, fill: false);
        var copy = server.Folder.Combine("legit-copy.raw");
        await Peers.NbdCopyAsync(server.Url("disk"), copy);
        Assert.True(PeerTests.FilesEqual(server.Folder.Combine("disk.raw"), copy), "the legitimate client's copy differs");
        var source = server.Folder.Combine("legit-source.raw");
        await File.WriteAllBytesAsync(source, NbdTestServer.Pattern(16 * MiB, 5));
        await Peers.NbdCopyAsync("--flush", source, server.Url("target"));
        var written = await ReadExportAsync(server, "target", 16 * MiB);
        var sent = await File.ReadAllBytesAsync(source);
        Assert.True(written.AsSpan().SequenceEqual(sent), "the legitimate client's writes differ");
    }

    private static async Task<byte[]> ReadExportAsync(NbdTestServer server, string export, int length)
    {
        var file = server.Folder.Combine($"{export}-read.raw");
        await Peers.NbdCopyAsync(server.Url(export), file);
        var bytes = await File.ReadAllBytesAsync(file);
        Assert.Equal(length, bytes.Length);
        return bytes;
    }

    /// <summary>The value once it stops changing (ten looks in a row the same).</summary>
    private static async Task<long> SettledAsync(Func<long> value)
    {
        var last = value();
        for (var same = 0; same < 10;)
        {
            await Task.Delay(50);
            var now = value();
            same = now == last ? same + 1 : 0;
            last = now;
        }

        return last;
    }
}
