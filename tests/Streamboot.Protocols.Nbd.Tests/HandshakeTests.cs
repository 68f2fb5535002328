using System.Text;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>Malformed, truncated and oversized option haggling: the spec's answers, and the server serves on.</summary>
public sealed class HandshakeTests
{
    [Fact]
    public async Task Unknown_client_flags_close_the_connection()
    {
        await using var server = NbdTestServer.Start();
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync(clientFlags: 0x80);
        Assert.True(await client.ClosedByServerAsync());
    }

    [Fact]
    public async Task Connections_carry_tcp_keepalive_so_a_vanished_client_does_not_hold_its_session()
    {
        await using var server = NbdTestServer.Start();
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        // ss shows the server side's timer: keepalive, first probe after 30 s idle.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string line;
        do
        {
            var ss = await Streamboot.Testing.ProcessRunner.RunAsync("ss", ["-tnoH", "state", "established", $"( sport = :{server.Port} )"]);
            Assert.True(ss.ExitCode == 0, ss.ToString());
            line = ss.Stdout;
        }
        while (!line.Contains("keepalive", StringComparison.Ordinal) && DateTime.UtcNow < deadline && await Task.Delay(100).ContinueWith(_ => true));

        Assert.Contains("timer:(keepalive,", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncated_handshakes_and_bad_magic_do_not_disturb_other_clients()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 1024 * 1024);
        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.ReadAsync(18);
            await client.WriteAsync([0, 0]);
        }

        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
            await client.WriteAsync([0x49, 0x48, 0x41, 0x56, 0x45]);
        }

        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
            await client.SendOptionAsync(NbdOption.List, [], magic: 0x1122334455667788);
            Assert.True(await client.ClosedByServerAsync());
        }

        Assert.Equal(0, server.Provider.OpenCount);
        await Peers.NbdInfoAsync(server.Url("disk"));
    }

    [Fact]
    public async Task Oversized_option_is_skipped_with_too_big_and_negotiation_goes_on()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 1024 * 1024);
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        await client.SendOptionAsync(NbdOption.Go, new byte[1024 * 1024]);
        var (option, reply, _) = await client.ReadOptionReplyAsync();
        Assert.Equal(NbdOption.Go, option);
        Assert.Equal(NbdOptionReply.ErrTooBig, reply);
        await client.SendOptionAsync(NbdOption.List, []);
        var (_, server1, data) = await client.ReadOptionReplyAsync();
        Assert.Equal(NbdOptionReply.Server, server1);
        Assert.Equal("disk", Encoding.UTF8.GetString(data, 4, 4));
        Assert.Equal(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
    }

    [Fact]
    public async Task Options_get_the_errors_the_spec_names()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 1024 * 1024);
        server.AddRaw("aligned", 1024 * 1024, minimumBlockSize: 512);
        server.Provider.Add("secret", server.AddRaw("hidden", 4096), refuse: true);
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();

        async Task<NbdOptionReply> Ask(NbdOption option, byte[] data)
        {
            await client.SendOptionAsync(option, data);
            return await client.ReadFinalReplyAsync();
        }

        Assert.Equal(NbdOptionReply.ErrUnsup, await Ask((NbdOption)99, [1, 2, 3]));
        Assert.Equal(NbdOptionReply.ErrPolicy, await Ask(NbdOption.StartTls, []));
        Assert.Equal(NbdOptionReply.ErrUnsup, await Ask(NbdOption.ExtendedHeaders, []));
        Assert.Equal(NbdOptionReply.ErrUnknown, await Ask(NbdOption.Go, RawNbdClient.InfoRequest("nope")));
        Assert.Equal(NbdOptionReply.ErrPolicy, await Ask(NbdOption.Go, RawNbdClient.InfoRequest("secret")));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.Info, [0, 0, 0, 200, 1, 2]));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.Info, [0, 0, 0, 0, 0, 5, 0]));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.Go, [0, 0, 0, 2, 0xff, 0x64, 0, 0]));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.List, [1]));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.StructuredReply, [1]));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.SetMetaContext, [0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal(NbdOptionReply.ErrInvalid, await Ask(NbdOption.ListMetaContext, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9]));
        Assert.Equal(NbdOptionReply.ErrBlockSizeReqd, await Ask(NbdOption.Info, RawNbdClient.InfoRequest("aligned")));
        Assert.Equal(NbdOptionReply.Ack, await Ask(NbdOption.Info, RawNbdClient.InfoRequest("aligned", NbdInfo.BlockSize)));
        Assert.Equal(NbdOptionReply.Ack, await Ask(NbdOption.Go, RawNbdClient.InfoRequest("disk")));

        // INFO opened and closed exports; their sessions ended as "not started".
        Assert.All(server.Provider.EndedSessions, s => Assert.Equal(Exports.NbdSessionEndReason.NotStarted, s.Reason));
    }

    [Fact]
    public async Task Export_name_option_of_an_unknown_export_closes_and_a_known_one_answers_without_zeroes()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 1024 * 1024);
        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
            await client.SendOptionAsync(NbdOption.ExportName, Encoding.UTF8.GetBytes("nope"));
            Assert.True(await client.ClosedByServerAsync());
        }

        await using (var client = await RawNbdClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync(clientFlags: 1);
            await client.SendOptionAsync(NbdOption.ExportName, Encoding.UTF8.GetBytes("disk"));
            var reply = await client.ReadAsync(8 + 2 + 124);
            Assert.Equal(1024 * 1024, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(reply));
            await client.SendRequestAsync(NbdCommand.Read, 7, 0, 512);
            var (error, cookie, data) = await client.ReadSimpleReplyAsync(512);
            Assert.Equal((NbdError.None, 7ul, 512), (error, cookie, data.Length));
        }
    }

    [Fact]
    public async Task Abort_is_acknowledged()
    {
        await using var server = NbdTestServer.Start();
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        await client.SendOptionAsync(NbdOption.Abort, []);
        Assert.Equal(NbdOptionReply.Ack, (await client.ReadOptionReplyAsync()).Reply);
        Assert.True(await client.ClosedByServerAsync());
    }

    [Fact]
    public async Task A_client_that_stalls_in_the_handshake_is_dropped()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(500) });
        server.AddRaw("disk", 4096);
        await using var client = await RawNbdClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        await client.SendOptionHeaderAsync(NbdOption.Go, 100);
        Assert.True(await client.ClosedByServerAsync());
        for (var i = 0; i < 100 && server.Server.ConnectionCount > 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, server.Server.ConnectionCount);
    }
}
