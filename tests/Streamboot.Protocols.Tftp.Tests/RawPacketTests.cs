using System.Text;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>
/// What well-behaved clients never send, from a raw UDP socket: every bad
/// datagram is answered with the right ERROR or dropped, and the server
/// serves a good request right after.
/// </summary>
public sealed class RawPacketTests
{
    private static readonly TimeSpan s_quiet = TimeSpan.FromMilliseconds(400);

    private static readonly TftpServerOptions s_fast = new() { RetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxRetransmissions = 3 };

    public static TheoryData<string, byte[], TftpErrorCode?> BadRequests() => new()
    {
        { "empty datagram", [], null },
        { "one byte", [0], null },
        { "opcode only", [0, 1], (TftpErrorCode?)TftpErrorCode.IllegalOperation },
        { "file name without NUL", [0, 1, (byte)'a', (byte)'b'], TftpErrorCode.IllegalOperation },
        { "mode without NUL", [0, 1, (byte)'a', 0, (byte)'o', (byte)'c', (byte)'t'], TftpErrorCode.IllegalOperation },
        { "unknown opcode 9", [0, 9, (byte)'a', 0, (byte)'o', 0], TftpErrorCode.IllegalOperation },
        { "opcode 0xffff", [0xff, 0xff, 1, 2, 3], TftpErrorCode.IllegalOperation },
        { "mode mail", RawTftpClient.Request(TftpOpcode.ReadRequest, "file.bin", "mail"), TftpErrorCode.IllegalOperation },
        { "mode garbage", RawTftpClient.Request(TftpOpcode.ReadRequest, "file.bin", "binary"), TftpErrorCode.IllegalOperation },
        { "DATA on the request port", [0, 3, 0, 1, 1, 2, 3], TftpErrorCode.UnknownTransferId },
        { "ACK on the request port", RawTftpClient.Ack(1), TftpErrorCode.UnknownTransferId },
        { "ERROR on the request port", RawTftpClient.Error(TftpErrorCode.NotDefined, "hello"), null },
        { "file name not UTF-8", [0, 1, 0xff, 0xfe, 0, (byte)'o', (byte)'c', (byte)'t', (byte)'e', (byte)'t', 0], TftpErrorCode.AccessViolation },
        { "write request", RawTftpClient.Request(TftpOpcode.WriteRequest, "file.bin", "octet"), TftpErrorCode.AccessViolation },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_gets_its_error_or_nothing_and_the_server_goes_on(string what, byte[] datagram, TftpErrorCode? expected)
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 3000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Send(datagram);
        // An expected answer may take a while on a loaded machine (a fresh server's first error path);
        // only silence is judged by the short quiet window.
        var answer = await client.ReceiveAsync(expected is null ? s_quiet : TimeSpan.FromSeconds(10));
        if (expected is { } code)
        {
            Assert.True(answer is not null, $"{what}: no answer");
            Assert.True(answer.Opcode == TftpOpcode.Error && answer.ErrorCode == code, $"{what}: {answer}");
        }
        else
        {
            Assert.True(answer is null, $"{what}: answered {answer}");
        }

        await AssertStillServesAsync(server, original);
    }

    [Fact]
    public async Task Garbage_of_every_length_never_stops_the_server()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 5000);
        using var client = new RawTftpClient(server.EndPoint);
        var random = new Random(11);
        for (var i = 0; i < 500; i++)
        {
            var datagram = new byte[random.Next(0, i % 50 == 0 ? 9000 : 80)];
            random.NextBytes(datagram);
            if (datagram.Length >= 2 && i % 3 == 0)
            {
                // Make a third of them look like requests so the parser goes deeper.
                datagram[0] = 0;
                datagram[1] = (byte)(i % 2 == 0 ? 1 : 2);
            }

            client.Send(datagram);
        }

        await Task.Delay(300);
        await server.WaitIdleAsync(TimeSpan.FromSeconds(15));
        await AssertStillServesAsync(server, original);
    }

    [Fact]
    public async Task A_write_request_is_refused_with_access_violation_and_counted()
    {
        await using var server = TftpTestServer.Start(s_fast);
        using var client = new RawTftpClient(server.EndPoint);
        client.Send(RawTftpClient.Request(TftpOpcode.WriteRequest, "upload.bin", "octet", ("blksize", "1428")));
        var answer = await client.ExpectAsync();
        Assert.Equal(TftpOpcode.Error, answer.Opcode);
        Assert.Equal(TftpErrorCode.AccessViolation, answer.ErrorCode);
        Assert.False(File.Exists(Path.Combine(server.Root, "upload.bin")));
        Assert.Equal(1, server.Server.Statistics.RequestsRefused);
        Assert.True(server.Log.Has(4011, "upload.bin"));
    }

    [Fact]
    public async Task Unknown_options_are_ignored_and_alone_bring_no_oack()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 1500);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("file.bin", options: [("frobnicate", "7"), ("multicast", ""), ("windowsize", "0"), ("blksize", "4"), ("timeout", "0")]);
        Assert.Null(oack);
        Assert.Equal(File.ReadAllBytes(original), content);
    }

    [Fact]
    public async Task Options_are_matched_without_case_and_unknown_ones_left_out_of_the_oack()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 100_000);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("file.bin", windowSize: 8, options: [("BLKSIZE", "1428"), ("frobnicate", "1"), ("TSize", "0"), ("WindowSize", "8"), ("Timeout", "2")]);
        Assert.Equal(File.ReadAllBytes(original), content);
        Assert.NotNull(oack);
        Assert.Equal("1428", oack["blksize"]);
        Assert.Equal("100000", oack["tsize"]);
        Assert.Equal("8", oack["windowsize"]);
        Assert.Equal("2", oack["timeout"]);
        Assert.False(oack.ContainsKey("frobnicate"));
    }

    [Theory]
    [InlineData("1000000", "65464")]
    [InlineData("99999999999999999999999", "65464")]
    [InlineData("65465", "65464")]
    [InlineData("8", "8")]
    public async Task A_huge_blksize_is_clamped_to_the_largest_allowed(string asked, string granted)
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 200_000);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("file.bin", options: [("blksize", asked)]);
        Assert.Equal(granted, oack!["blksize"]);
        Assert.Equal(File.ReadAllBytes(original), content);
    }

    [Fact]
    public async Task The_configured_maximums_bound_blksize_and_windowsize()
    {
        await using var server = TftpTestServer.Start(s_fast with { MaxBlockSize = 1468, MaxWindowSize = 4 });
        var original = server.AddRandom("file.bin", 50_000);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("file.bin", windowSize: 4, options: [("blksize", "9000"), ("windowsize", "65535")]);
        Assert.Equal("1468", oack!["blksize"]);
        Assert.Equal("4", oack["windowsize"]);
        Assert.Equal(File.ReadAllBytes(original), content);
    }

    [Theory]
    [InlineData("1468", "64", "64")]
    [InlineData("8192", "16", "12")]
    [InlineData("65464", "4", "1")]
    public async Task A_window_never_carries_more_than_MaxWindowBytes(string blockSize, string asked, string granted)
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 300_000);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("file.bin", windowSize: int.Parse(granted, System.Globalization.CultureInfo.InvariantCulture), options: [("blksize", blockSize), ("windowsize", asked)]);
        Assert.Equal(granted, oack!["windowsize"]);
        Assert.Equal(File.ReadAllBytes(original), content);
    }

    [Fact]
    public async Task Netascii_converts_line_ends_and_leaves_tsize_out()
    {
        await using var server = TftpTestServer.Start(s_fast);
        server.AddBytes("text.txt", Encoding.ASCII.GetBytes("a\nb\rc\r\nd"));
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("text.txt", "NetASCII", options: [("tsize", "0")]);
        Assert.Null(oack);
        Assert.Equal("a\r\nb\r\0c\r\0\r\nd", Encoding.ASCII.GetString(content));
    }

    [Fact]
    public async Task Netascii_pairs_split_across_blocks_and_windows_survive_rollback()
    {
        await using var server = TftpTestServer.Start(s_fast);
        // 8-byte blocks, every byte a line end: each CR LF pair splits across blocks.
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("x\n\r\n\n", 40)));
        server.AddBytes("text.txt", text);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("text.txt", "netascii", ("blksize", "8"), ("windowsize", "4"));
        var oack = await client.ExpectAsync();
        client.Send(RawTftpClient.Ack(0), oack.From);
        var first = await client.ExpectAsync();
        Assert.Equal(1, first.Block);
        for (var block = 2; block <= 4; block++)
        {
            Assert.Equal(block, (await client.ExpectAsync()).Block);
        }

        // Acknowledge only block 1: the server goes back and sends 2, 3, 4, 5,
        // so block 2 is made again from where block 1 ended.
        client.Send(RawTftpClient.Ack(1), oack.From);
        var received = new Dictionary<int, byte[]> { [1] = first.Payload };
        var next = 2;
        while (true)
        {
            var packet = await client.ExpectAsync();
            Assert.Equal(next, packet.Block);
            received[next++] = packet.Payload;
            if (packet.Payload.Length < 8)
            {
                client.Send(RawTftpClient.Ack(packet.Block), oack.From);
                break;
            }

            if ((next - 2) % 4 == 0)
            {
                client.Send(RawTftpClient.Ack(packet.Block), oack.From);
            }
        }

        var wire = received.OrderBy(p => p.Key).SelectMany(p => p.Value).ToArray();
        var expected = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(text).Replace("\r", "\r\0", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.Equal(expected, wire);
    }

    [Fact]
    public async Task An_ack_from_a_wrong_port_gets_error_5_and_the_transfer_goes_on()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 2000);
        using var client = new RawTftpClient(server.EndPoint);
        using var stranger = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        var first = await client.ExpectAsync();
        Assert.Equal(TftpOpcode.Data, first.Opcode);

        stranger.Send(RawTftpClient.Ack(1), first.From);
        var error = await stranger.ExpectAsync();
        Assert.Equal(TftpErrorCode.UnknownTransferId, error.ErrorCode);
        Assert.Equal(first.From, error.From);

        // The real client carries on from block 1 as if nothing happened.
        var content = new List<byte>(first.Payload);
        client.Send(RawTftpClient.Ack(1), first.From);
        for (var block = 2; ; block++)
        {
            var data = await client.ExpectAsync();
            Assert.Equal(block, data.Block);
            content.AddRange(data.Payload);
            client.Send(RawTftpClient.Ack(block), first.From);
            if (data.Payload.Length < 512)
            {
                break;
            }
        }

        Assert.Equal(File.ReadAllBytes(original), content);
        await server.WaitIdleAsync();
        Assert.Equal(1, server.Server.Statistics.TransfersCompleted);
        Assert.True(server.Log.Has(4030), server.Log.ToString());
    }

    [Fact]
    public async Task Transfers_running_at_once_each_get_a_port_of_their_own()
    {
        await using var server = TftpTestServer.Start(s_fast with { RetransmitTimeout = TimeSpan.FromSeconds(10) });
        server.AddRandom("file.bin", 5000);

        // 400 transfers all running (each holds at block 1) before any ends:
        // Linux hands out a port held by SO_REUSEPORT sockets again unless the
        // server picks it without that option.
        var clients = Enumerable.Range(0, 400).Select(i => new RawTftpClient(server.EndPoint, RawTftpClient.Machine(i))).ToList();
        try
        {
            var tids = new List<System.Net.IPEndPoint>();
            foreach (var client in clients)
            {
                client.Read("file.bin");
                var first = await client.ExpectAsync();
                Assert.Equal(TftpOpcode.Data, first.Opcode);
                tids.Add(first.From);
            }

            Assert.Equal(400, server.Server.Statistics.ActiveTransfers);
            var shared = tids.GroupBy(t => t.Port).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(shared.Count == 0, $"ports given to two running transfers: {string.Join(", ", shared)}");
            for (var i = 0; i < clients.Count; i++)
            {
                clients[i].Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "enough"), tids[i]);
            }

            await server.WaitIdleAsync();
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_lost_ack_brings_the_block_again_after_the_timeout()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 1000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        var first = await client.ExpectAsync();
        var again = await client.ExpectAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(1, again.Block);
        Assert.Equal(first.Payload, again.Payload);
        Assert.True(server.Server.Statistics.Retransmissions >= 1);

        client.Send(RawTftpClient.Ack(1), first.From);
        var second = await client.ExpectAsync();
        Assert.Equal(2, second.Block);
        Assert.Equal(File.ReadAllBytes(original), first.Payload.Concat(second.Payload).ToArray());
        client.Send(RawTftpClient.Ack(2), first.From);
        await server.WaitIdleAsync();
    }

    [Fact]
    public async Task A_lost_oack_ack_brings_the_oack_again()
    {
        await using var server = TftpTestServer.Start(s_fast);
        server.AddRandom("file.bin", 1000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin", "octet", ("tsize", "0"));
        var oack = await client.ExpectAsync();
        var again = await client.ExpectAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(TftpOpcode.OptionAcknowledgment, again.Opcode);
        Assert.Equal("1000", again.Options["tsize"]);
        client.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "bye"), oack.From);
        await server.WaitIdleAsync();
    }

    [Fact]
    public async Task A_client_that_stops_answering_is_abandoned_after_the_retransmissions()
    {
        await using var server = TftpTestServer.Start(s_fast);
        server.AddRandom("file.bin", 10_000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        var copies = 0;
        while (await client.ReceiveAsync(TimeSpan.FromSeconds(1)) is { } packet)
        {
            Assert.Equal(1, packet.Block);
            copies++;
        }

        // The first send and MaxRetransmissions more, then silence.
        Assert.Equal(1 + s_fast.MaxRetransmissions, copies);
        await server.WaitIdleAsync();
        var statistics = server.Server.Statistics;
        Assert.Equal(1, statistics.TransfersAbandoned);
        Assert.Equal(0, statistics.ActiveTransfers);
        Assert.True(server.Log.Has(4024, "file.bin"), server.Log.ToString());
    }

    [Fact]
    public async Task Error_8_after_the_oack_ends_the_transfer_quietly()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 4000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin", "octet", ("blksize", "1024"));
        var oack = await client.ExpectAsync();
        Assert.Equal(TftpOpcode.OptionAcknowledgment, oack.Opcode);
        client.Send(RawTftpClient.Error(TftpErrorCode.OptionNegotiationFailed, "no thanks"), oack.From);
        Assert.Null(await client.ReceiveAsync(s_quiet));
        await server.WaitIdleAsync();
        Assert.Equal(1, server.Server.Statistics.TransfersCancelledByClient);
        await AssertStillServesAsync(server, original);
    }

    [Fact]
    public async Task Duplicate_acks_are_not_answered_so_no_sorcerers_apprentice()
    {
        await using var server = TftpTestServer.Start(s_fast with { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        server.AddRandom("file.bin", 5000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        var first = await client.ExpectAsync();
        client.Send(RawTftpClient.Ack(1), first.From);
        client.Send(RawTftpClient.Ack(1), first.From);
        client.Send(RawTftpClient.Ack(1), first.From);
        var second = await client.ExpectAsync();
        Assert.Equal(2, second.Block);
        // Only one block 2, although three ACKs for block 1 came.
        Assert.Null(await client.ReceiveAsync(s_quiet));
        client.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "done"), first.From);
        await server.WaitIdleAsync();
    }

    [Fact]
    public async Task A_partial_window_ack_rolls_back_to_the_block_after_it()
    {
        await using var server = TftpTestServer.Start(s_fast with { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        var original = server.AddRandom("file.bin", 100 * 512);
        var bytes = File.ReadAllBytes(original);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin", "octet", ("windowsize", "4"));
        var oack = await client.ExpectAsync();
        Assert.Equal("4", oack.Options["windowsize"]);
        client.Send(RawTftpClient.Ack(0), oack.From);
        var window = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            window.Add((await client.ExpectAsync()).Block);
        }

        Assert.Equal([1, 2, 3, 4], window);

        // "Lost" 3 and 4: acknowledge 2, the next window is 3 to 6.
        client.Send(RawTftpClient.Ack(2), oack.From);
        window.Clear();
        for (var i = 0; i < 4; i++)
        {
            var packet = await client.ExpectAsync();
            window.Add(packet.Block);
            Assert.Equal(bytes.AsSpan((packet.Block - 1) * 512, 512).ToArray(), packet.Payload);
        }

        Assert.Equal([3, 4, 5, 6], window);
        Assert.Null(await client.ReceiveAsync(s_quiet));
        client.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "done"), oack.From);
        await server.WaitIdleAsync();
    }

    [Fact]
    public async Task A_file_of_whole_blocks_ends_with_an_empty_block()
    {
        await using var server = TftpTestServer.Start(s_fast);
        var original = server.AddRandom("file.bin", 4 * 512);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, _) = await client.GetAsync("file.bin");
        Assert.Equal(File.ReadAllBytes(original), content);

        var empty = server.AddBytes("empty.bin", []);
        var (nothing, oack) = await client.GetAsync("empty.bin", options: [("tsize", "0")]);
        Assert.Empty(nothing);
        Assert.Equal("0", oack!["tsize"]);
        Assert.True(File.Exists(empty));
    }

    [Fact]
    public async Task Requests_beyond_the_transfer_limit_are_dropped_and_logged()
    {
        await using var server = TftpTestServer.Start(s_fast with { MaxTransfers = 2, RetransmitTimeout = TimeSpan.FromSeconds(3) });
        server.AddRandom("file.bin", 5000);
        using var a = new RawTftpClient(server.EndPoint);
        using var b = new RawTftpClient(server.EndPoint);
        using var c = new RawTftpClient(server.EndPoint);
        a.Read("file.bin");
        b.Read("file.bin");
        var first = await a.ExpectAsync();
        var second = await b.ExpectAsync();
        c.Read("file.bin");
        Assert.Null(await c.ReceiveAsync(s_quiet));
        Assert.Equal(1, server.Server.Statistics.RequestsDropped);
        Assert.True(server.Log.Has(4004, "file.bin"), server.Log.ToString());

        // A slot frees, and the client's retransmitted request gets in.
        a.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "done"), first.From);
        b.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "done"), second.From);
        await server.WaitIdleAsync();
        c.Read("file.bin");
        Assert.Equal(TftpOpcode.Data, (await c.ExpectAsync()).Opcode);
    }

    [Theory]
    [InlineData("10", true)]
    [InlineData("11", false)]
    [InlineData("255", false)]
    public async Task A_timeout_longer_than_MaxTimeoutOption_is_left_out_of_the_oack(string asked, bool granted)
    {
        // The defaults: up to 10 s is honoured. An option the server will not
        // honour is left out of the OACK (RFC 2347), and the others still are.
        await using var server = TftpTestServer.Start();
        var original = server.AddRandom("file.bin", 3000);
        using var client = new RawTftpClient(server.EndPoint);
        var (content, oack) = await client.GetAsync("file.bin", options: [("timeout", asked), ("tsize", "0")]);
        Assert.Equal(File.ReadAllBytes(original), content);
        Assert.NotNull(oack);
        Assert.Equal("3000", oack["tsize"]);
        Assert.Equal(granted, oack.ContainsKey("timeout"));
        if (granted)
        {
            Assert.Equal(asked, oack["timeout"]);
        }
    }

    [Fact]
    public async Task A_configured_MaxTimeoutOption_bounds_the_timeout_granted()
    {
        await using var server = TftpTestServer.Start(s_fast with { MaxTimeoutOption = TimeSpan.FromSeconds(3) });
        server.AddRandom("file.bin", 3000);
        using var client = new RawTftpClient(server.EndPoint);
        var (_, three) = await client.GetAsync("file.bin", options: [("timeout", "3"), ("blksize", "1024")]);
        Assert.Equal("3", three!["timeout"]);
        var (_, four) = await client.GetAsync("file.bin", options: [("timeout", "4"), ("blksize", "1024")]);
        Assert.False(four!.ContainsKey("timeout"));
        Assert.Equal("1024", four["blksize"]);
    }

    [Fact]
    public async Task A_silent_client_is_abandoned_once_MaxRetryTime_has_passed_with_retransmissions_left()
    {
        // 100 retransmissions allowed, but only 1 s without progress: the
        // budget ends it after at most 1 s / 200 ms = 5 retransmissions.
        var options = s_fast with { RetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxRetransmissions = 100, MaxRetryTime = TimeSpan.FromSeconds(1) };
        await using var server = TftpTestServer.Start(options);
        server.AddRandom("file.bin", 10_000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        var copies = 0;
        while (await client.ReceiveAsync(TimeSpan.FromSeconds(2)) is { } packet)
        {
            Assert.Equal(1, packet.Block);
            copies++;
        }

        Assert.InRange(copies, 1, 6);
        await server.WaitIdleAsync();
        Assert.Equal(1, server.Server.Statistics.TransfersAbandoned);
        Assert.True(server.Log.Has(4024, "file.bin"), server.Log.ToString());
    }

    [Fact]
    public async Task The_retry_budget_starts_again_with_each_ack_that_moves_forward()
    {
        // A slow but live client (an ACK 500 ms after each block, after two
        // timeouts each time) is never abandoned, although the whole transfer
        // takes more than twice MaxRetryTime. (1 s of slack per block for a
        // loaded machine.)
        var options = s_fast with { RetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxRetransmissions = 100, MaxRetryTime = TimeSpan.FromMilliseconds(1500) };
        await using var server = TftpTestServer.Start(options);
        var original = server.AddRandom("file.bin", 6 * 512);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        var content = new List<byte>();
        for (var block = 1; block <= 7; block++)
        {
            var packet = await client.ExpectAsync();
            while (packet.Block != block)
            {
                packet = await client.ExpectAsync();
            }

            content.AddRange(packet.Payload);
            await Task.Delay(500);
            client.Send(RawTftpClient.Ack(block), packet.From);
        }

        Assert.Equal(File.ReadAllBytes(original), content.ToArray());
        await server.WaitIdleAsync();
        Assert.Equal(1, server.Server.Statistics.TransfersCompleted);
        Assert.Equal(0, server.Server.Statistics.TransfersAbandoned);
    }

    [Fact]
    public async Task Requests_beyond_the_limit_per_address_are_dropped_and_other_addresses_still_served()
    {
        await using var server = TftpTestServer.Start(s_fast with { MaxTransfersPerClient = 2, RetransmitTimeout = TimeSpan.FromSeconds(3) });
        var original = server.AddRandom("file.bin", 5000);
        using var a = new RawTftpClient(server.EndPoint);
        using var b = new RawTftpClient(server.EndPoint);
        using var c = new RawTftpClient(server.EndPoint);
        a.Read("file.bin");
        b.Read("file.bin");
        var first = await a.ExpectAsync();
        var second = await b.ExpectAsync();

        // A third from 127.0.0.1 is dropped (the client will retry)...
        c.Read("file.bin");
        Assert.Null(await c.ReceiveAsync(s_quiet));
        var statistics = server.Server.Statistics;
        Assert.Equal(1, statistics.RequestsDropped);
        Assert.Equal(1, statistics.RequestsDroppedPerClient);
        Assert.True(server.Log.Has(4006, "file.bin"), server.Log.ToString());

        // ...while another machine is served at once.
        using var other = new RawTftpClient(server.EndPoint, RawTftpClient.Machine(7));
        var (content, _) = await other.GetAsync("file.bin");
        Assert.Equal(File.ReadAllBytes(original), content);

        // A slot of 127.0.0.1 frees, and its retransmitted request gets in.
        a.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "done"), first.From);
        await Eventually(() => server.Server.Statistics.ActiveTransfers == 1);
        c.Read("file.bin");
        Assert.Equal(TftpOpcode.Data, (await c.ExpectAsync()).Opcode);
        b.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "done"), second.From);
    }

    [Fact]
    public async Task Client_text_in_log_lines_is_escaped_and_cut()
    {
        await using var server = TftpTestServer.Start(s_fast);
        server.AddRandom("file.bin", 3000);
        using var client = new RawTftpClient(server.EndPoint);
        var forged = "a\nTFTP forged line\u001b[2J" + string.Join('/', Enumerable.Repeat(new string('x', 100), 9));

        // A missing file (4023), a write (4011), the debug line of a transfer's
        // options (4020), and a client's ERROR message (4025).
        client.Read(forged, "octet", ("time\nout", "1\u001b"));
        Assert.Equal(TftpErrorCode.FileNotFound, (await client.ExpectAsync()).ErrorCode);
        client.Send(RawTftpClient.Request(TftpOpcode.WriteRequest, forged, "octet"));
        Assert.Equal(TftpErrorCode.AccessViolation, (await client.ExpectAsync()).ErrorCode);
        client.Read("file.bin");
        var data = await client.ExpectAsync();
        client.Send(RawTftpClient.Error(TftpErrorCode.NotDefined, "bye\nTFTP forged too"), data.From);
        await server.WaitIdleAsync();

        Assert.True(server.Log.Has(4023, "a\\x0aTFTP forged line\\x1b[2Jxxx"), server.Log.ToString());
        Assert.True(server.Log.Has(4011, "a\\x0aTFTP forged line"), server.Log.ToString());
        Assert.True(server.Log.Has(4020, "time\\x0aout=1\\x1b"), server.Log.ToString());
        Assert.True(server.Log.Has(4025, "bye\\x0aTFTP forged too"), server.Log.ToString());
        foreach (var (_, id, message) in server.Log.Lines)
        {
            Assert.False(message.Contains('\n', StringComparison.Ordinal) || message.Contains('\u001b', StringComparison.Ordinal), $"{id}: {message}");
            Assert.True(message.Length < 1000, $"{id}: {message.Length} characters");
        }
    }

    [Fact]
    public async Task A_boot_storm_of_300_clients_is_served_and_leaves_nothing_behind()
    {
        await using var server = TftpTestServer.Start(s_fast with { RetransmitTimeout = TimeSpan.FromSeconds(1) });
        var original = File.ReadAllBytes(server.AddRandom("undionly.kpxe", 74_213));
        // 300 machines, each from its own address as on a real boot network.
        var clients = Enumerable.Range(0, 300).Select(i => new RawTftpClient(server.EndPoint, RawTftpClient.Machine(i))).ToList();
        try
        {
            var transfers = clients.Select((client, i) => Task.Run(() => client.GetAsync(
                "undionly.kpxe",
                windowSize: i % 3 == 0 ? 8 : 1,
                options: i % 3 == 0 ? [("blksize", "1432"), ("windowsize", "8")] : i % 3 == 1 ? [("blksize", "1432"), ("tsize", "0")] : [])));
            foreach (var (content, _) in await Task.WhenAll(transfers))
            {
                Assert.Equal(original, content);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        await server.WaitIdleAsync();
        var statistics = server.Server.Statistics;
        Assert.True(statistics.TransfersCompleted >= 300, statistics.ToString());

        // Every transfer had a port of its own (two sockets share each port, never two transfers).
        Assert.Equal(0, statistics.MalformedPackets);
        Assert.Equal(0, statistics.ActiveTransfers);
        Assert.Equal(0, statistics.TransfersFailed);
    }

    [Fact]
    public async Task Stopping_the_server_cuts_running_transfers()
    {
        var server = TftpTestServer.Start(s_fast with { RetransmitTimeout = TimeSpan.FromSeconds(30) });
        server.AddRandom("file.bin", 5000);
        using var client = new RawTftpClient(server.EndPoint);
        client.Read("file.bin");
        await client.ExpectAsync();
        var stop = server.DisposeAsync().AsTask();
        Assert.Same(stop, await Task.WhenAny(stop, Task.Delay(5000)));
        Assert.Equal(0, server.Server.Statistics.ActiveTransfers);
    }

    private static async Task Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition());
    }

    /// <summary>A good request right after: the server is still there and right.</summary>
    private static async Task AssertStillServesAsync(TftpTestServer server, string original)
    {
        using var client = new RawTftpClient(server.EndPoint);
        var (content, _) = await client.GetAsync(Path.GetFileName(original));
        Assert.Equal(File.ReadAllBytes(original), content);
    }
}
