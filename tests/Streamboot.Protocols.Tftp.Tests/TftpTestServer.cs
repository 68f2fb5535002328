using System.Net;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Testing;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>An in-process server on 127.0.0.1 and a free port, serving a temporary folder and then Debian's iPXE folder.</summary>
public sealed class TftpTestServer : IAsyncDisposable
{
    private TftpTestServer(TftpServer server, TempFolder folder, CapturingLoggerFactory log)
    {
        Server = server;
        Folder = folder;
        Log = log;
    }

    public TftpServer Server { get; }

    /// <summary>The first root: the test's own files.</summary>
    public TempFolder Folder { get; }

    public CapturingLoggerFactory Log { get; }

    public int Port => Server.LocalEndPoint!.Port;

    public IPEndPoint EndPoint => Server.LocalEndPoint!;

    /// <summary>Starts a server over a fresh temporary folder; <paramref name="ipxe"/> adds /usr/lib/ipxe (whose ipxe.efi links to /boot) as a trusted second root.</summary>
    public static TftpTestServer Start(TftpServerOptions? options = null, bool ipxe = false)
    {
        var folder = new TempFolder("streamboot-tftp");
        var roots = new List<TftpFolderRoot> { new(folder.Combine("root")) };
        Directory.CreateDirectory(roots[0].Path);
        if (ipxe)
        {
            roots.Add(new TftpFolderRoot(Peers.IpxeFolder) { AllowLinksOutside = true });
        }

        var log = new CapturingLoggerFactory();
        var server = new TftpServer(new TftpFolderSource(roots), options ?? new TftpServerOptions(), log);
        server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return new TftpTestServer(server, folder, log);
    }

    public string Root => Folder.Combine("root");

    /// <summary>A file of random bytes in the root, returned as its path.</summary>
    public string AddRandom(string name, long size, int seed = 1)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var random = new Random(seed);
        var block = new byte[1 << 20];
        for (long written = 0; written < size; written += block.Length)
        {
            random.NextBytes(block);
            file.Write(block, 0, (int)Math.Min(block.Length, size - written));
        }

        return path;
    }

    public string AddBytes(string name, byte[] content)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>A local path for a client to write to.</summary>
    public string Download(string name) => Folder.Combine("download-" + name);

    /// <summary>Waits until no transfer runs (transfers end a moment after the client's last ACK).</summary>
    public async Task WaitIdleAsync(TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (Server.Statistics.ActiveTransfers > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"transfers still running: {Server.Statistics}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Folder.Dispose();
    }
}
