using System.Net;
using Streamboot.Testing;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>An in-process server on 127.0.0.1 and a free port, over temporary image files.</summary>
public sealed class NbdTestServer : IAsyncDisposable
{
    private NbdTestServer(NbdServer server, FileExportProvider provider, TempFolder folder, TestLog log)
    {
        Server = server;
        Provider = provider;
        Folder = folder;
        Log = log;
    }

    /// <summary>Everything the server logged.</summary>
    public TestLog Log { get; }

    public NbdServer Server { get; }

    public FileExportProvider Provider { get; }

    public TempFolder Folder { get; }

    public int Port => Server.LocalEndPoint!.Port;

    /// <param name="options">The server's options (defaults when null).</param>
    /// <param name="wrap">Puts a provider of the test's own in front of the file exports.</param>
    public static NbdTestServer Start(NbdServerOptions? options = null, Func<FileExportProvider, Exports.INbdExportProvider>? wrap = null)
    {
        var provider = new FileExportProvider();
        var log = new TestLog();
        var server = new NbdServer(wrap?.Invoke(provider) ?? provider, options, log);
        server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return new NbdTestServer(server, provider, new TempFolder("streamboot-nbd"), log);
    }

    /// <summary>Waits (polling, up to 20 s) until <paramref name="condition"/> holds; fails the test with <paramref name="what"/> otherwise.</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), $"timed out waiting: {what}");
    }

    public string Url(string export) => $"nbd://127.0.0.1:{Port}/{export}";

    /// <summary>A raw image of <paramref name="size"/> bytes filled with a repeatable pattern, added as an export.</summary>
    public string AddRaw(string name, long size, bool readOnly = false, int minimumBlockSize = 1, string? description = null, bool fill = true)
    {
        var path = Folder.Combine(name + ".raw");
        using (var file = new FileStream(path, FileMode.Create))
        {
            file.SetLength(size);
            if (fill)
            {
                var block = Pattern(1024 * 1024, seed: name.Length);
                for (long offset = 0; offset < size; offset += block.Length)
                {
                    file.Write(block, 0, (int)Math.Min(block.Length, size - offset));
                }
            }
        }

        Provider.Add(name, path, readOnly, description, minimumBlockSize);
        return path;
    }

    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Folder.Dispose();
    }
}
