using System.Net;
using System.Net.Sockets;
using Streamboot.Protocols.Nbd.Exports;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// Connections a host accepted and hands in as streams (Kestrel's
/// ConnectionHandler): no socket of the server's under them, so no zero-copy
/// path, but the same protocol, limits and TLS.
/// </summary>
public sealed class HostedConnectionTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task Streams_handed_in_serve_real_clients_and_idle_ones_are_closed()
    {
        // Long enough that none of nbdcopy's connections idles out mid-copy on a loaded machine (CI once saw it).
        await using var server = NbdTestServer.Start(new NbdServerOptions { IdleTimeout = TimeSpan.FromSeconds(3) });
        var path = server.AddRaw("disk", 8 * MiB, readOnly: true);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var accepting = AcceptAsync(listener, server.Server, stop.Token);

        var copy = server.Folder.Combine("copy.raw");
        await Peers.NbdCopyAsync($"nbd://127.0.0.1:{port}/disk", copy);
        await server.Provider.WaitUntilClosedAsync();
        Assert.True(PeerTests.FilesEqual(path, copy));
        Assert.Equal(0, server.Provider.MappedReads); // no socket of ours: every reply went through the stream

        await using (var client = await RawNbdClient.OpenAsync(port, "disk"))
        {
            await client.SendRequestAsync(NbdCommand.Read, 1, 0, 4096);
            Assert.Equal(NbdError.None, (await client.ReadSimpleReplyAsync(4096)).Error);
            Assert.True(await client.ClosedByServerAsync());
        }

        await NbdTestServer.WaitForAsync(() => server.Provider.EndedSessions.Any(s => s.Reason == NbdSessionEndReason.IdleTimeout), "the idle session to end");
        await stop.CancelAsync();
        listener.Stop();
        await accepting;
    }

    private static async Task AcceptAsync(TcpListener listener, NbdServer server, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await listener.AcceptSocketAsync(cancellationToken);
                connections.Add(server.HandleConnectionAsync(new NetworkStream(socket, ownsSocket: true), socket.RemoteEndPoint, socket.LocalEndPoint, cancellationToken));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(connections);
    }
}
