using System.Buffers.Binary;
using Streamboot.Protocols.Iscsi.Pdus;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>
/// What a well-behaved initiator never sends, on raw sockets: each gets the
/// answer RFC 7143 gives it (a Login refusal, a Reject, a CHECK CONDITION,
/// silence, or the end of the connection), and the target goes on serving
/// everyone else with bounded memory.
/// </summary>
public sealed class HostileTests : IAsyncLifetime
{
    private IscsiTestServer _server = null!;

    public Task InitializeAsync()
    {
        _server = IscsiTestServer.Start(new IscsiServerOptions { LoginTimeout = TimeSpan.FromSeconds(2), MaxLoginsPerAddress = 8, NopInterval = TimeSpan.FromSeconds(1), NopTimeout = TimeSpan.FromSeconds(2) });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        // After all of it, a real initiator is still served.
        await Peers.LibiscsiAsync("iscsi-inq", _server.Url(IscsiTestServer.Disk));
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Garbage_instead_of_a_login_ends_the_connection()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        var garbage = IscsiTestServer.Pattern(4096, seed: 3);
        garbage[0] = 0x01; // a SCSI Command before any login
        await raw.SendAsync(garbage);
        Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Malformed_login_keys_are_refused_with_an_initiator_error()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        await raw.SendAsync(RawInitiator.Login(1, 3, true, "InitiatorName=iqn.2026-01.test:raw\nno equals sign here"));
        var response = await raw.ReceiveAsync();
        Assert.NotNull(response);
        Assert.Equal(0x23, response.Value.Header[0] & 0x3f);
        Assert.Equal(0x02, response.Value.Header[36]); // Status-Class 2: initiator error
        Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_login_to_an_unknown_target_is_not_found_and_chap_targets_refuse_none()
    {
        await using (var raw = await RawInitiator.ConnectAsync(_server.Port))
        {
            Assert.Equal(0x0203, await raw.LoginAsync("iqn.2026-01.test.streamboot:nope"));
        }

        await using (var raw = await RawInitiator.ConnectAsync(_server.Port))
        {
            Assert.Equal(0x0201, await raw.LoginAsync(IscsiTestServer.ChapDisk));
        }
    }

    [Fact]
    public async Task A_login_that_never_finishes_is_ended_by_the_login_timeout()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        await raw.SendAsync(RawInitiator.Login(0, 1, false, "InitiatorName=iqn.2026-01.test:raw\nSessionType=Normal\nTargetName=" + IscsiTestServer.Disk + "\nAuthMethod=None").AsSpan(0, 40).ToArray());
        Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_login_flood_from_one_address_is_cut_off_and_later_logins_work()
    {
        var flood = new List<RawInitiator>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                flood.Add(await RawInitiator.ConnectAsync(_server.Port));
            }

            // Beyond MaxLoginsPerAddress the target closes connections at once.
            var closed = 0;
            foreach (var raw in flood)
            {
                if (await raw.ClosedAsync(TimeSpan.FromMilliseconds(100)))
                {
                    closed++;
                }
            }

            Assert.True(closed >= 40 - 8, $"{closed} of 40 closed");
        }
        finally
        {
            foreach (var raw in flood)
            {
                await raw.DisposeAsync();
            }
        }

        await Task.Delay(500);
        await using var ok = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await ok.LoginAsync(IscsiTestServer.Disk));
    }

    [Fact]
    public async Task A_wrong_header_digest_ends_the_connection()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        raw.HeaderDigest = true;
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        await raw.SendAsync(RawInitiator.WithHeaderDigest(RawInitiator.NopOut(5, raw.CmdSN, immediate: true)));
        var reply = await raw.ReceiveAsync();
        Assert.Equal(0x20, reply!.Value.Header[0] & 0x3f);
        await raw.SendAsync(RawInitiator.WithHeaderDigest(RawInitiator.NopOut(6, raw.CmdSN, immediate: true), corrupt: true));
        Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_wrong_data_digest_is_rejected_and_the_connection_goes_on()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        raw.DataDigest = true;
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        byte[] data = [1, 2, 3, 4, 5];
        await raw.SendAsync(RawInitiator.WithDataDigest(RawInitiator.NopOut(5, raw.CmdSN, immediate: true, data), data.Length, corrupt: true));
        var reject = await raw.ReceiveAsync();
        Assert.Equal(0x3f, reject!.Value.Header[0] & 0x3f);
        Assert.Equal((byte)RejectReason.DataDigestError, reject.Value.Header[2]);
        await raw.SendAsync(RawInitiator.WithDataDigest(RawInitiator.NopOut(6, raw.CmdSN, immediate: true, data), data.Length));
        var echo = await raw.ReceiveAsync();
        Assert.Equal(0x20, echo!.Value.Header[0] & 0x3f);
        Assert.Equal(data, echo.Value.Data);
    }

    [Fact]
    public async Task Writes_waiting_for_their_data_hold_at_most_the_bursts_a_connection_may_have()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk, "ImmediateData=No\nInitialR2T=Yes\nMaxBurstLength=1048576"));
        // 40 writes of 1 MiB, none of whose data comes: each R2T is a burst buffer the target holds.
        for (uint i = 0; i < 40; i++)
        {
            await raw.SendAsync(RawInitiator.ScsiCommand(100 + i, raw.CmdSN + i, RawInitiator.Write10Cdb(i * 2048, 2048), 1 << 20, false, true));
        }

        var r2ts = 0;
        while (await raw.ReceiveAsync(TimeSpan.FromMilliseconds(500)) is { } pdu)
        {
            Assert.Equal(0x31, pdu.Header[0] & 0x3f);
            r2ts++;
        }

        Assert.Equal(new IscsiServerOptions().MaxBurstsPerConnection, r2ts);
    }

    [Fact]
    public async Task A_command_outside_the_cmdsn_window_is_ignored_and_the_next_in_order_is_answered()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        await raw.SendAsync(RawInitiator.TestUnitReady(1, raw.CmdSN + 100000));
        await raw.SendAsync(RawInitiator.TestUnitReady(2, raw.CmdSN - 5));
        Assert.Null(await raw.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
        await raw.SendAsync(RawInitiator.TestUnitReady(3, raw.CmdSN));
        var response = await raw.ReceiveAsync();
        Assert.Equal(0x21, response!.Value.Header[0] & 0x3f);
        Assert.Equal(3u, Pdu.InitiatorTaskTag(response.Value.Header));
        Assert.Equal(0, response.Value.Header[3]);
        Assert.Equal(raw.CmdSN + 1, Pdu.U32(response.Value.Header, 28)); // ExpCmdSN moved on by one
    }

    [Fact]
    public async Task Commands_out_of_order_within_the_window_run_in_cmdsn_order()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        await raw.SendAsync(RawInitiator.TestUnitReady(11, raw.CmdSN + 1));
        Assert.Null(await raw.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        await raw.SendAsync(RawInitiator.TestUnitReady(10, raw.CmdSN));
        var first = await raw.ReceiveAsync();
        var second = await raw.ReceiveAsync();
        Assert.Equal(10u, Pdu.InitiatorTaskTag(first!.Value.Header));
        Assert.Equal(11u, Pdu.InitiatorTaskTag(second!.Value.Header));
    }

    [Fact]
    public async Task A_data_segment_beyond_our_limit_is_rejected_read_and_dropped()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        var big = new byte[300 * 1024]; // MaxRecvDataSegmentLength is 256 KiB
        await raw.SendAsync(RawInitiator.NopOut(7, raw.CmdSN, immediate: true, big));
        var reject = await raw.ReceiveAsync();
        Assert.Equal(0x3f, reject!.Value.Header[0] & 0x3f);
        Assert.Equal((byte)RejectReason.ProtocolError, reject.Value.Header[2]);
        // The stream is still in step: the next PDU is understood.
        await raw.SendAsync(RawInitiator.NopOut(8, raw.CmdSN, immediate: true, [1, 2, 3, 4]));
        var echo = await raw.ReceiveAsync();
        Assert.Equal(0x20, echo!.Value.Header[0] & 0x3f);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, echo.Value.Data);
    }

    [Fact]
    public async Task Immediate_data_beyond_the_first_burst_is_rejected()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk, "ImmediateData=Yes\nInitialR2T=No\nFirstBurstLength=65536\nMaxBurstLength=262144"));
        var data = new byte[128 * 1024];
        await raw.SendAsync(RawInitiator.ScsiCommand(1, raw.CmdSN, RawInitiator.Write10Cdb(0, 256), (uint)data.Length, false, true, data));
        var reject = await raw.ReceiveAsync();
        Assert.Equal(0x3f, reject!.Value.Header[0] & 0x3f);
        raw.CmdSN++;
        await raw.SendAsync(RawInitiator.TestUnitReady(2, raw.CmdSN));
        var response = await raw.ReceiveAsync();
        Assert.Equal(0x21, response!.Value.Header[0] & 0x3f);
    }

    [Fact]
    public async Task Data_out_with_a_wrong_datasn_or_offset_ends_the_task_with_check_condition()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk, "ImmediateData=No\nInitialR2T=Yes"));
        await raw.SendAsync(RawInitiator.ScsiCommand(1, raw.CmdSN, RawInitiator.Write10Cdb(0, 8), 4096, false, true));
        var r2t = await raw.ReceiveAsync();
        Assert.Equal(0x31, r2t!.Value.Header[0] & 0x3f);
        var ttt = Pdu.U32(r2t.Value.Header, 20);
        await raw.SendAsync(RawInitiator.DataOut(1, ttt, 5, 0, new byte[4096], final: true));
        var response = await raw.ReceiveAsync();
        Assert.Equal(0x21, response!.Value.Header[0] & 0x3f);
        Assert.Equal(0x02, response.Value.Header[3]);                  // CHECK CONDITION
        Assert.Equal(0x0b, response.Value.Data[2 + 2] & 0x0f);          // ABORTED COMMAND
        // Data-Out for a task that is over is dropped without a word.
        await raw.SendAsync(RawInitiator.DataOut(1, ttt, 0, 0, new byte[512], final: true));
        await raw.SendAsync(RawInitiator.NopOut(9, raw.CmdSN + 1, immediate: true));
        var nop = await raw.ReceiveAsync();
        Assert.Equal(0x20, nop!.Value.Header[0] & 0x3f);
    }

    [Fact]
    public async Task Scsi_commands_in_a_discovery_session_are_rejected()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync("", sessionType: "Discovery"));
        await raw.SendAsync(RawInitiator.TestUnitReady(1, raw.CmdSN));
        var reject = await raw.ReceiveAsync();
        Assert.Equal(0x3f, reject!.Value.Header[0] & 0x3f);
    }

    [Fact]
    public async Task Unknown_opcodes_and_snack_are_rejected_and_the_connection_goes_on()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        var unknown = RawInitiator.NopOut(1, raw.CmdSN, immediate: true);
        unknown[0] = 0x40 | 0x1c;
        await raw.SendAsync(unknown);
        var reject = await raw.ReceiveAsync();
        Assert.Equal((byte)RejectReason.CommandNotSupported, reject!.Value.Header[2]);
        Assert.Equal(unknown.AsSpan(0, 48).ToArray(), reject.Value.Data);
    }

    [Fact]
    public async Task An_initiator_that_stops_answering_pings_is_disconnected()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        raw.AnswerPings = false;
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        // Silent for NopInterval: the target pings (NOP-In with a transfer tag) ...
        var ping = await raw.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0x20, ping!.Value.Header[0] & 0x3f);
        Assert.Equal(0xffffffffu, Pdu.InitiatorTaskTag(ping.Value.Header));
        Assert.NotEqual(0xffffffffu, Pdu.U32(ping.Value.Header, 20));
        // ... and, with no answer, ends the connection.
        Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(10)));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (_server.Server.SessionCount > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, _server.Server.SessionCount);
    }

    [Fact]
    public async Task An_answered_ping_keeps_the_connection()
    {
        await using var raw = await RawInitiator.ConnectAsync(_server.Port);
        raw.AnswerPings = false;
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        for (var i = 0; i < 2; i++)
        {
            var ping = await raw.ReceiveAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(0x20, ping!.Value.Header[0] & 0x3f);
            await raw.SendAsync(RawInitiator.NopOut(0xffffffff, raw.CmdSN, immediate: true, ttt: Pdu.U32(ping.Value.Header, 20)));
        }

        await raw.SendAsync(RawInitiator.TestUnitReady(1, raw.CmdSN));
        Assert.Equal(0x21, (await raw.ReceiveAsync())!.Value.Header[0] & 0x3f);
    }

    [Fact]
    public async Task Many_connections_of_one_session_share_its_cmdsn_window()
    {
        await using var first = await RawInitiator.ConnectAsync(_server.Port);
        Assert.Equal(0, await first.LoginAsync(IscsiTestServer.Disk, "MaxConnections=4"));
        var tsih = _server.Server.SessionCount;
        Assert.Equal(1, tsih);
        // A second connection joins with the session's TSIH (read from the table) and its own CID.
        var session = _server.Server.Sessions.All().Single();
        await using var second = await RawInitiator.ConnectAsync(_server.Port);
        await second.SendAsync(RawInitiator.Login(1, 3, true, $"InitiatorName=iqn.2026-01.test:raw\nSessionType=Normal\nTargetName={IscsiTestServer.Disk}", tsih: session.Tsih, cid: 1, cmdSN: first.CmdSN));
        var login = await second.ReceiveAsync();
        Assert.Equal(0, login!.Value.Header[36]);
        Assert.Equal(session.Tsih, BinaryPrimitives.ReadUInt16BigEndian(login.Value.Header.AsSpan(14)));
        // CmdSN N+1 on the second connection waits for N on the first.
        await second.SendAsync(RawInitiator.TestUnitReady(21, first.CmdSN + 1));
        Assert.Null(await second.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        await first.SendAsync(RawInitiator.TestUnitReady(20, first.CmdSN));
        Assert.Equal(20u, Pdu.InitiatorTaskTag((await first.ReceiveAsync())!.Value.Header));
        Assert.Equal(21u, Pdu.InitiatorTaskTag((await second.ReceiveAsync())!.Value.Header));
    }
}
