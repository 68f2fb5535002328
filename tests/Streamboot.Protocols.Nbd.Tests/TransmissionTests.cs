using System.Buffers.Binary;
using Streamboot.Protocols.Nbd.Exports;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>Requests real clients refuse to send, answered with the spec's error values; sessions end exactly once.</summary>
public sealed class TransmissionTests
{
    private const int Size = 1024 * 1024;

    [Fact]
    public async Task Invalid_requests_get_their_errors_and_the_connection_goes_on()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", Size);
        server.AddRaw("ro", Size, readOnly: true);
        await using var client = await RawNbdClient.OpenAsync(server.Port, "disk");

        async Task<NbdError> Ask(NbdCommand command, ulong offset, uint length, NbdCommandFlags flags = NbdCommandFlags.None, byte[]? payload = null)
        {
            await client.SendRequestAsync(command, 42, offset, length, flags, payload);
            var (error, cookie, _) = await client.ReadSimpleReplyAsync(command == NbdCommand.Read ? (int)length : 0);
            Assert.Equal(42ul, cookie);
            return error;
        }

        Assert.Equal(NbdError.Inval, await Ask((NbdCommand)42, 0, 4096));
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.Read, Size - 100, 4096));
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.Read, ulong.MaxValue - 10, 4096));
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.Read, 0, 33 * 1024 * 1024));
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.Read, 0, 4096, (NbdCommandFlags)0x400));
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.Read, 0, 4096, NbdCommandFlags.Df));
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.BlockStatus, 0, 4096));
        Assert.Equal(NbdError.NoSpc, await Ask(NbdCommand.Write, Size - 100, 4096, payload: new byte[4096]));
        Assert.Equal(NbdError.NoSpc, await Ask(NbdCommand.WriteZeroes, Size, 1));
        // An oversized write's payload is read past, not held, and the stream stays in step.
        Assert.Equal(NbdError.Inval, await Ask(NbdCommand.Write, 0, 40 * 1024 * 1024, payload: new byte[40 * 1024 * 1024]));
        Assert.Equal(NbdError.None, await Ask(NbdCommand.Write, 0, 4, payload: [1, 2, 3, 4]));
        Assert.Equal(NbdError.None, await Ask(NbdCommand.Read, 0, 4));
        Assert.Equal(NbdError.None, await Ask(NbdCommand.Flush, 0, 0));

        await using var readOnly = await RawNbdClient.OpenAsync(server.Port, "ro");
        await readOnly.SendRequestAsync(NbdCommand.Write, 1, 0, 4096, payload: new byte[4096]);
        Assert.Equal(NbdError.Perm, (await readOnly.ReadSimpleReplyAsync()).Error);
        await readOnly.SendRequestAsync(NbdCommand.Trim, 2, 0, 4096);
        Assert.Equal(NbdError.Perm, (await readOnly.ReadSimpleReplyAsync()).Error);
        await readOnly.SendRequestAsync(NbdCommand.WriteZeroes, 3, 0, 4096);
        Assert.Equal(NbdError.Perm, (await readOnly.ReadSimpleReplyAsync()).Error);
    }

    [Fact]
    public async Task Structured_errors_and_misalignment()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("aligned", Size, minimumBlockSize: 512);
        await using var client = await RawNbdClient.OpenAsync(server.Port, "aligned", structured: true, NbdInfo.BlockSize);

        await client.SendRequestAsync(NbdCommand.Read, 5, 100, 512);
        var chunk = await client.ReadChunkAsync();
        Assert.Equal((NbdReplyType.Error, NbdReplyFlags.Done, 5ul), (chunk.Type, chunk.Flags, chunk.Cookie));
        Assert.Equal((uint)NbdError.Inval, BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload));

        await client.SendRequestAsync(NbdCommand.Read, 6, 0, 33 * 1024 * 1024);
        chunk = await client.ReadChunkAsync();
        Assert.Equal((uint)NbdError.Overflow, BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload));

        await client.SendRequestAsync(NbdCommand.Read, 7, 512, 1024);
        chunk = await client.ReadChunkAsync();
        Assert.Equal((NbdReplyType.OffsetData, NbdReplyFlags.Done, 7ul), (chunk.Type, chunk.Flags, chunk.Cookie));
        Assert.Equal(512ul, BinaryPrimitives.ReadUInt64BigEndian(chunk.Payload));
        Assert.Equal(8 + 1024, chunk.Payload.Length);

        // A bad magic is a protocol error: the server hangs up.
        await client.SendRequestAsync(NbdCommand.Read, 8, 0, 512, magic: 0xdeadbeef);
        Assert.True(await client.ClosedByServerAsync());
        await WaitForAsync(() => server.Provider.EndedSessions.Count == 1);
        Assert.Equal(NbdSessionEndReason.ProtocolError, Assert.Single(server.Provider.EndedSessions).Reason);
    }

    [Fact]
    public async Task Many_requests_in_flight_all_get_their_replies()
    {
        await using var server = NbdTestServer.Start();
        var path = server.AddRaw("disk", Size);
        var expected = await File.ReadAllBytesAsync(path);
        await using var client = await RawNbdClient.OpenAsync(server.Port, "disk");
        var requests = Enumerable.Range(0, 200).Select(i => (Cookie: (ulong)i + 1000, Offset: (ulong)(i * 4096 % (Size - 8192)))).ToList();
        var send = Task.Run(async () =>
        {
            foreach (var (cookie, offset) in requests)
            {
                await client.SendRequestAsync(NbdCommand.Read, cookie, offset, 8192);
            }
        });
        var seen = new HashSet<ulong>();
        for (var i = 0; i < requests.Count; i++)
        {
            var (error, cookie, data) = await client.ReadSimpleReplyAsync(8192);
            Assert.Equal(NbdError.None, error);
            Assert.True(seen.Add(cookie));
            var offset = (int)requests[(int)(cookie - 1000)].Offset;
            Assert.True(data.AsSpan().SequenceEqual(expected.AsSpan(offset, 8192)));
        }

        await send;
        await client.SendRequestAsync(NbdCommand.Disc, 0, 0, 0);
        Assert.True(await client.ClosedByServerAsync());
        await WaitForAsync(() => server.Provider.EndedSessions.Count == 1);
        var session = Assert.Single(server.Provider.EndedSessions);
        Assert.Equal(NbdSessionEndReason.Disconnected, session.Reason);
        Assert.Equal(200 * 8192, session.BytesRead);
    }

    [Theory]
    [InlineData("mid-header")]
    [InlineData("mid-payload")]
    [InlineData("reset-with-reads-in-flight")]
    [InlineData("after-go")]
    public async Task A_client_that_vanishes_ends_its_session_exactly_once(string when)
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 8 * Size);
        var client = await RawNbdClient.OpenAsync(server.Port, "disk");
        switch (when)
        {
            case "mid-header":
                await client.WriteAsync([0x25, 0x60, 0x95, 0x13, 0, 0]);
                break;
            case "mid-payload":
                await client.SendRequestAsync(NbdCommand.Write, 1, 0, 65536, payload: new byte[1000]);
                break;
            case "reset-with-reads-in-flight":
                for (var i = 0; i < 64; i++)
                {
                    await client.SendRequestAsync(NbdCommand.Read, (ulong)i, 0, 4 * 1024 * 1024);
                }

                break;
        }

        client.Abort();
        await WaitForAsync(() => server.Provider.EndedSessions.Count >= 1);
        await Task.Delay(200);
        var session = Assert.Single(server.Provider.EndedSessions);
        Assert.Equal(NbdSessionEndReason.ConnectionLost, session.Reason);
        Assert.Equal(0, server.Server.ConnectionCount);
        await Peers.NbdInfoAsync(server.Url("disk"));
    }

    [Fact]
    public async Task Stopping_the_server_ends_open_sessions()
    {
        var server = NbdTestServer.Start();
        server.AddRaw("disk", Size);
        await using var client = await RawNbdClient.OpenAsync(server.Port, "disk");
        await server.Server.StopAsync();
        Assert.Equal(NbdSessionEndReason.ServerStopped, Assert.Single(server.Provider.EndedSessions).Reason);
        Assert.True(await client.ClosedByServerAsync());
        await server.DisposeAsync();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), "timed out waiting");
    }
}
