using System.Net;
using Streamboot.Testing;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>An in-process server on 127.0.0.1 and a free port, over temporary image files.</summary>
public sealed class NbdTestServer : IAsyncDisposable
{
    private NbdTestServer(NbdServer server, FileExportProvider provider, TempFolder folder)
    {
        Server = server;
        Provider = provider;
        Folder = folder;
    }

    public NbdServer Server { get; }

    public FileExportProvider Provider { get; }

    public TempFolder Folder { get; }

    public int Port => Server.LocalEndPoint!.Port;

    public static NbdTestServer Start(NbdServerOptions? options = null)
    {
        var provider = new FileExportProvider();
        var server = new NbdServer(provider, options);
        server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return new NbdTestServer(server, provider, new TempFolder("streamboot-nbd"));
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
