using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Import;
using Streamboot.Storage.Stacks;

namespace Streamboot.Micro.Storage;

/// <summary>
/// A small disk in a temporary folder, in the shapes the server streams:
/// <c>base.raw</c> (random bytes), <c>disk.1.qcow2</c> (the same bytes as
/// qcow2) and <c>disk.2.qcow2</c> over it (a second version that rewrote
/// 5 % of the clusters), and the session stack over that chain composed by
/// the server's own <see cref="SessionStack.Compose"/>.
/// </summary>
internal sealed class TestDisk : IAsyncDisposable
{
    public const long Size = 64L << 20;
    private const int ClusterSize = Qcow2Image.DefaultClusterSize;

    private TestDisk(string folder) => Folder = folder;

    public string Folder { get; }

    public string RawFile => Path.Combine(Folder, "base.raw");

    public string Version1 => Path.Combine(Folder, "disk.1.qcow2");

    public string Version2 => Path.Combine(Folder, "disk.2.qcow2");

    public static async Task<TestDisk> CreateAsync()
    {
        var disk = new TestDisk(Directory.CreateTempSubdirectory("streamboot-micro-").FullName);
        var random = new Random(7);
        var chunk = new byte[1 << 20];
        using (var handle = File.OpenHandle(disk.RawFile, FileMode.CreateNew, FileAccess.Write))
        {
            for (long at = 0; at < Size; at += chunk.Length)
            {
                random.NextBytes(chunk);
                RandomAccess.Write(handle, chunk, at);
            }
        }

        Qcow2Image.Create(disk.Version1, Size);
        await using (var raw = RawBlockDevice.Open(disk.RawFile, readOnly: true))
        await using (var q = Qcow2Image.Open(disk.Version1, readOnly: false))
        {
            await ImageCopier.CopyAsync(raw, q);
        }

        Qcow2Image.Create(disk.Version2, 0, ClusterSize, Path.GetFileName(disk.Version1), "qcow2");
        await using (var top = ImageChain.Open(disk.Version2, readOnly: false))
        {
            var cluster = new byte[ClusterSize];
            var clusters = Size / ClusterSize;
            for (var i = 0; i < clusters / 20; i++)
            {
                random.NextBytes(cluster);
                await top.WriteAsync(random.NextInt64(clusters) * ClusterSize, cluster);
            }

            await top.FlushAsync();
        }

        return disk;
    }

    /// <summary>A device session's stack as <c>streamboot serve</c> composes it: qcow2 write-cache overlay over the shared read cache over the chain.</summary>
    public ComposedStack OpenSession(SharedImages images, string name = "session") =>
        SessionStack.Compose(
            new SessionStackPlan(1, Version2, Size, WriteCacheLayer.Qcow2File) { CacheFile = Path.Combine(Folder, name + ".qcow2") },
            images);

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}
