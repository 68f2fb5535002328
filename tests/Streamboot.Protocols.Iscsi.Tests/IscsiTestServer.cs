using System.Net;
using Streamboot.Testing;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>An in-process target on 127.0.0.1 and a free port, over temporary raw images.</summary>
public sealed class IscsiTestServer : IAsyncDisposable
{
    public const string Disk = "iqn.2026-01.test.streamboot:disk";
    public const string ReadOnlyDisk = "iqn.2026-01.test.streamboot:ro";
    public const string ChapDisk = "iqn.2026-01.test.streamboot:chap";
    public const string ChapName = "pc1";
    public const string Secret = "abcdefghijkl1234";
    public const string TargetSecret = "TargetSecret5678";

    private IscsiTestServer(IscsiServer server, FileTargetProvider provider, TempFolder folder)
    {
        Server = server;
        Provider = provider;
        Folder = folder;
    }

    public IscsiServer Server { get; }

    public FileTargetProvider Provider { get; }

    public TempFolder Folder { get; }

    public int Port => Server.LocalEndPoint!.Port;

    public string DiskPath => Folder.Combine("disk.raw");

    /// <summary>Starts a target with three targets over images of <paramref name="size"/> bytes (the writable one filled with a pattern).</summary>
    public static IscsiTestServer Start(IscsiServerOptions? options = null, long size = 64 << 20)
    {
        var folder = new TempFolder("streamboot-iscsi");
        var provider = new FileTargetProvider();
        var disk = folder.Combine("disk.raw");
        Fill(disk, size);
        var readOnly = folder.Combine("ro.raw");
        Fill(readOnly, size);
        provider.Add(Disk, disk);
        provider.Add(ReadOnlyDisk, readOnly, readOnly: true);
        provider.Add(ChapDisk, folder.Combine("ro.raw"), readOnly: true, chapName: ChapName, secret: Secret, targetSecret: TargetSecret);
        var server = new IscsiServer(provider, options);
        server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return new IscsiTestServer(server, provider, folder);
    }

    public string Url(string target, string? credentials = null, string? query = null) =>
        $"iscsi://{(credentials is null ? "" : credentials + "@")}127.0.0.1:{Port}/{target}/0{(query is null ? "" : "?" + query)}";

    public string Portal => $"iscsi://127.0.0.1:{Port}";

    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static void Fill(string path, long size)
    {
        using var file = new FileStream(path, FileMode.Create);
        var block = Pattern(1 << 20, seed: 7);
        for (long offset = 0; offset < size; offset += block.Length)
        {
            file.Write(block, 0, (int)Math.Min(block.Length, size - offset));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Folder.Dispose();
    }
}
