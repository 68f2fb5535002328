using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Import;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Import;

/// <summary>Capturing a changed disk into a new copy-on-write version writes only the changes.</summary>
public sealed class ImageCopierTests : IDisposable
{
    private const int Cluster = 64 * 1024;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_new_version_takes_only_the_blocks_that_differ_and_then_reads_like_the_source()
    {
        var size = 8L << 20;
        var old = Sync.Pattern((int)size, 3);
        Array.Clear(old, 5 << 20, 1 << 20);
        var basePath = _dir.File("v1.raw");
        File.WriteAllBytes(basePath, old);

        // The VM changed three clusters, zeroed one that had data, and wrote into a hole.
        var changed = (byte[])old.Clone();
        Array.Fill(changed, (byte)0xa1, Cluster, 100);
        Array.Fill(changed, (byte)0xa2, 3 * Cluster, 2 * Cluster);
        Array.Clear(changed, 7 * Cluster, Cluster);
        Array.Fill(changed, (byte)0xa3, (5 << 20) + 4096, 10);
        var sourcePath = _dir.File("vm.raw");
        File.WriteAllBytes(sourcePath, changed);

        var top = _dir.File("v2.qcow2");
        Qcow2Image.Create(top, size, Cluster, backingFile: "v1.raw", backingFormat: "raw");
        var source = ImageChain.Open(sourcePath, readOnly: true);
        var destination = ImageChain.Open(top, readOnly: false);
        var reports = new List<long>();
        long written;
        try
        {
            written = await ImageCopier.CopyChangesAsync(source, destination, Cluster, new SyncProgress(reports));
        }
        finally
        {
            await destination.DisposeAsync();
            await source.DisposeAsync();
        }

        Assert.Equal(5L * Cluster, written);
        Assert.Equal(size, reports[^1]);
        Qemu.CheckClean(top);
        // qemu reads the new version as the VM's disk, byte for byte ...
        Qemu.Img("compare", "-f", "qcow2", "-F", "raw", top, sourcePath);
        // ... and the version itself holds five clusters: the changes, not a copy.
        var map = System.Text.Json.JsonDocument.Parse(Qemu.Img("map", "--output=json", "-f", "qcow2", top)).RootElement;
        var own = map.EnumerateArray().Where(e => e.GetProperty("depth").GetInt32() == 0 && e.GetProperty("length").GetInt64() > 0).Sum(e => e.GetProperty("length").GetInt64());
        Assert.Equal(5L * Cluster, own);
        Assert.Equal(old, File.ReadAllBytes(basePath));
    }

    [Fact]
    public async Task Disks_of_different_sizes_are_refused()
    {
        File.WriteAllBytes(_dir.File("a.raw"), new byte[1 << 20]);
        File.WriteAllBytes(_dir.File("b.raw"), new byte[2 << 20]);
        var a = ImageChain.Open(_dir.File("a.raw"), readOnly: true);
        var b = ImageChain.Open(_dir.File("b.raw"), readOnly: false);
        try
        {
            await Assert.ThrowsAsync<ArgumentException>(() => ImageCopier.CopyChangesAsync(a, b));
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }
}
