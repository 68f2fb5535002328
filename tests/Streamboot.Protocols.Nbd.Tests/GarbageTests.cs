namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>A small fuzz: random options and random requests never crash, hang or stop the server.</summary>
public sealed class GarbageTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Random_requests_are_answered_or_end_the_connection_and_the_server_goes_on(int seed)
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { HandshakeTimeout = TimeSpan.FromSeconds(5) });
        server.AddRaw("disk", 1024 * 1024);
        var random = new Random(seed);
        for (var connection = 0; connection < 20; connection++)
        {
            await using var client = await RawNbdClient.OpenAsync(server.Port, "disk", structured: random.Next(2) == 0);
            // Drain replies in the background so the server never blocks on a full socket.
            var drain = client.ClosedByServerAsync();
            try
            {
                for (var i = 0; i < 50; i++)
                {
                    var command = (NbdCommand)random.Next(0, 10);
                    var flags = (NbdCommandFlags)random.Next(0, 32);
                    var offset = random.Next(4) == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(0, 1024 * 1024);
                    var length = (uint)random.Next(0, 70000);
                    var payload = command == NbdCommand.Write ? new byte[length] : null;
                    if (command == NbdCommand.Disc)
                    {
                        continue;
                    }

                    await client.SendRequestAsync(command, (ulong)i, offset, length, flags, payload);
                }

                await client.SendRequestAsync(NbdCommand.Disc, 0, 0, 0);
            }
            catch (IOException)
            {
                // The server may hang up on a protocol error; that is an allowed answer.
            }

            Assert.True(await drain, "the server neither answered nor closed");
        }

        for (var i = 0; i < 100 && server.Provider.EndedSessions.Count < 20; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(20, server.Provider.EndedSessions.Count);
        await Peers.NbdInfoAsync(server.Url("disk"));
    }

    [Fact]
    public async Task Random_option_haggling_never_crashes_the_server()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { HandshakeTimeout = TimeSpan.FromSeconds(2) });
        server.AddRaw("disk", 1024 * 1024);
        var random = new Random(3);
        for (var connection = 0; connection < 30; connection++)
        {
            await using var client = await RawNbdClient.ConnectAsync(server.Port);
            await client.HandshakeAsync();
            var drain = client.ClosedByServerAsync();
            try
            {
                for (var i = 0; i < 10; i++)
                {
                    var data = new byte[random.Next(0, 64)];
                    random.NextBytes(data);
                    if (data.Length >= 4 && random.Next(2) == 0)
                    {
                        // A plausible name length, to get past the first check.
                        data[0] = data[1] = data[2] = 0;
                        data[3] = (byte)random.Next(0, data.Length);
                    }

                    await client.SendOptionAsync((NbdOption)random.Next(1, 13), data);
                }

                await client.SendOptionAsync(NbdOption.Abort, []);
            }
            catch (IOException)
            {
            }

            Assert.True(await drain);
        }

        await Peers.NbdInfoAsync(server.Url("disk"));
    }
}
