using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Tests.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats;

public sealed class ImageChainTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Commit_merges_the_top_version_into_the_one_below()
    {
        var (topPath, _) = Qcow2ModelTests.MakeChain(_dir); // base.raw <- mid.qcow2 <- top.qcow2 (empty)
        var top = ImageChain.Open(topPath, readOnly: false);
        top.Write(10_000, Sync.Pattern(200_000, 5));
        top.Zero(300_000, 200_000);                       // zero clusters over data below
        top.Trim(700_000, 100_000);
        top.Write(1_000_000, Sync.Pattern(48_576, 6));    // past the raw base: only in qcow2 layers
        var view = top.Read(0, (int)top.Size);
        top.Close();

        var reports = new List<long>();
        await ImageChain.CommitAsync(topPath, new Progress(reports));

        var mergedPath = _dir.File("mid.qcow2");
        Qemu.CheckClean(mergedPath);
        var merged = ImageChain.Open(mergedPath, readOnly: true);
        Assert.Equal(view, merged.Read(0, view.Length));
        merged.Close();
        Qcow2ModelTests.CompareWithQemu(mergedPath, view, _dir);
        Assert.Equal(view.Length, reports[^1]);
    }

    [Fact]
    public void Describe_lists_the_chain_top_first()
    {
        var (top, _) = Qcow2ModelTests.MakeChain(_dir);
        var files = ImageChain.Describe(top).Select(f => Path.GetFileName(f)).ToArray();
        string[] expected = ["top.qcow2", "mid.qcow2", "base.raw"];
        Assert.Equal(expected, files);
        Assert.Equal(ImageFormat.Qcow2, ImageChain.Probe(top));
        Assert.Equal(ImageFormat.Raw, ImageChain.Probe(_dir.File("base.raw")));
        Assert.Equal(1 << 20, ImageChain.ReadVirtualSize(top));
    }

    [Fact]
    public void Own_ranges_leave_out_what_shows_through()
    {
        var (top, _) = Qcow2ModelTests.MakeChain(_dir);
        var image = Qcow2Image.Open(top, readOnly: false);
        image.Write(8192, new byte[100]);
        image.Zero(65536, 8192);
        Assert.Equal([(8192L, 4096L, false), (65536L, 8192L, true)], image.OwnRanges().ToArray());
        image.Close();
    }

    private sealed class Progress(List<long> reports) : IProgress<long>
    {
        public void Report(long value) => reports.Add(value);
    }
}
