using System.Buffers.Binary;
using Streamboot.Protocols.Iscsi.Pdus;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>Task management, logout and the target's own asynchronous messages, on raw sockets.</summary>
public sealed class TaskManagementTests
{
    private static byte[] TaskManagement(byte function, uint itt, uint cmdSN, uint referenced = 0xffffffff)
    {
        var bhs = new byte[48];
        bhs[0] = 0x40 | 0x02;
        bhs[1] = (byte)(0x80 | function);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), referenced);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), cmdSN);
        return bhs;
    }

    [Theory]
    [InlineData(2, 0)]   // ABORT TASK SET: function complete
    [InlineData(4, 0)]   // CLEAR TASK SET
    [InlineData(5, 0)]   // LOGICAL UNIT RESET
    [InlineData(6, 0)]   // TARGET WARM RESET
    [InlineData(7, 5)]   // TARGET COLD RESET: not supported
    [InlineData(8, 4)]   // TASK REASSIGN: not at ErrorRecoveryLevel 0
    [InlineData(1, 1)]   // ABORT TASK of a task that does not exist
    public async Task Task_management_functions_answer_as_rfc_7143_says(byte function, byte response)
    {
        await using var server = IscsiTestServer.Start();
        await using var raw = await RawInitiator.ConnectAsync(server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        await raw.SendAsync(TaskManagement(function, 9, raw.CmdSN, referenced: 1234));
        var answer = await raw.ReceiveAsync();
        Assert.Equal(0x22, answer!.Value.Header[0] & 0x3f);
        Assert.Equal(9u, Pdu.InitiatorTaskTag(answer.Value.Header));
        Assert.Equal(response, answer.Value.Header[2]);
        await raw.SendAsync(RawInitiator.TestUnitReady(10, raw.CmdSN));
        Assert.Equal(0x21, (await raw.ReceiveAsync())!.Value.Header[0] & 0x3f);
    }

    [Fact]
    public async Task Aborting_a_write_that_waits_for_its_data_suppresses_its_response()
    {
        await using var server = IscsiTestServer.Start();
        await using var raw = await RawInitiator.ConnectAsync(server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk, "ImmediateData=No\nInitialR2T=Yes"));
        await raw.SendAsync(RawInitiator.ScsiCommand(1, raw.CmdSN, RawInitiator.Write10Cdb(0, 8), 4096, false, true));
        Assert.Equal(0x31, (await raw.ReceiveAsync())!.Value.Header[0] & 0x3f); // R2T: the write waits for data
        await raw.SendAsync(TaskManagement(1, 2, raw.CmdSN + 1, referenced: 1));
        var answer = await raw.ReceiveAsync();
        Assert.Equal(0x22, answer!.Value.Header[0] & 0x3f);
        Assert.Equal(0, answer.Value.Header[2]);
        Assert.Null(await raw.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Logout_closes_the_session_and_its_device_is_let_go()
    {
        await using var server = IscsiTestServer.Start();
        await using var raw = await RawInitiator.ConnectAsync(server.Port);
        Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
        var logout = new byte[48];
        logout[0] = 0x40 | 0x06;
        logout[1] = 0x80; // close the session
        BinaryPrimitives.WriteUInt32BigEndian(logout.AsSpan(16), 3);
        BinaryPrimitives.WriteUInt32BigEndian(logout.AsSpan(24), raw.CmdSN);
        await raw.SendAsync(logout);
        var answer = await raw.ReceiveAsync();
        Assert.Equal(0x26, answer!.Value.Header[0] & 0x3f);
        Assert.Equal(0, answer.Value.Header[2]);
        Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(5)));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (server.Provider.Closes < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, server.Provider.Closes);
    }

    [Fact]
    public async Task A_stopping_server_asks_its_initiators_to_log_out()
    {
        var server = IscsiTestServer.Start();
        try
        {
            await using var raw = await RawInitiator.ConnectAsync(server.Port);
            Assert.Equal(0, await raw.LoginAsync(IscsiTestServer.Disk));
            var stopping = server.Server.StopAsync(TimeSpan.FromSeconds(2));
            var message = await raw.ReceiveAsync();
            Assert.Equal(0x32, message!.Value.Header[0] & 0x3f);
            Assert.Equal((byte)AsyncEvent.LogoutRequested, message.Value.Header[36]);
            await stopping;
            Assert.True(await raw.ClosedAsync(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
