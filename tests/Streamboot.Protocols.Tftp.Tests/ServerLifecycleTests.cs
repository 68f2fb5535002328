using System.Net;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Testing;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>Starting and stopping, the way a host binds the server.</summary>
public sealed class ServerLifecycleTests
{
    [Fact]
    public async Task A_server_on_a_chosen_port_serves_there_and_refuses_a_second_start()
    {
        using var folder = new TempFolder("streamboot-tftp");
        await File.WriteAllBytesAsync(folder.Combine("hello.txt"), "hello"u8.ToArray());
        var port = Ports.FreeUdp();
        await using var server = new TftpServer(new TftpFolderSource(folder.Path));
        server.Start(new IPEndPoint(IPAddress.Loopback, port));
        Assert.Equal(port, server.LocalEndPoint!.Port);
        Assert.Throws<InvalidOperationException>(() => server.Start(new IPEndPoint(IPAddress.Loopback, Ports.FreeUdp())));

        using var client = new RawTftpClient(new IPEndPoint(IPAddress.Loopback, port));
        var (content, _) = await client.GetAsync("hello.txt");
        Assert.Equal("hello"u8.ToArray(), content);

        await server.StopAsync();
        await server.StopAsync(); // twice is fine
        Assert.Equal(1, server.Statistics.TransfersCompleted);
    }

    [Fact]
    public void Options_out_of_range_are_refused_at_construction()
    {
        var source = new TftpFolderSource(Path.GetTempPath());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TftpServer(source, new TftpServerOptions { MaxBlockSize = 70000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TftpServer(source, new TftpServerOptions { MaxWindowSize = 40000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TftpServer(source, new TftpServerOptions { MaxTransfers = 0 }));
    }
}
