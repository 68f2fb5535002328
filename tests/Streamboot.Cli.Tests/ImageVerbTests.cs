using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>Formats, import and versions through the real launcher; qemu-img judges the files.</summary>
public sealed class ImageVerbTests : IDisposable
{
    private readonly StreambootCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Import_then_version_then_merge_from_the_command_line()
    {
        var source = Path.Combine(_cli.DataFolder, "golden.vmdk");
        await QemuImg.RunAsync("create", "-q", "-f", "vmdk", source, "48M");
        await QemuImg.IoAsync("vmdk", source, "write -P 0x42 1M 2M");

        var imported = await _cli.JsonAsync("vdisk", "import", "golden", source);
        Assert.Equal("qcow2", imported.GetProperty("format").GetString());
        Assert.Equal(48L << 20, imported.GetProperty("sizeBytes").GetInt64());
        var baseFile = Path.Combine(_cli.DataFolder, "vdisks", "golden", "golden.1.qcow2");
        Assert.Contains("identical", await QemuImg.RunAsync("compare", "-f", "vmdk", source, baseFile), StringComparison.Ordinal);

        var opened = await _cli.JsonAsync("vdisk", "version", "new", "golden");
        Assert.Equal("maintenance", opened.GetProperty("versions")[1].GetProperty("stage").GetString());
        var again = await _cli.RunAsync("vdisk", "version", "new", "golden");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("still in maintenance", again.Stderr, StringComparison.Ordinal);

        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "golden", "golden.2.qcow2"), "write -P 0x43 2M 1M");
        var production = await _cli.JsonAsync("vdisk", "version", "promote", "golden", "--to", "production");
        Assert.Equal("production", production.GetProperty("versions")[1].GetProperty("stage").GetString());

        var merged = await _cli.JsonAsync("vdisk", "version", "merge", "golden");
        var version = Assert.Single(merged.GetProperty("versions").EnumerateArray());
        Assert.Equal(3, version.GetProperty("number").GetInt32());
        var mergedFile = Path.Combine(_cli.DataFolder, "vdisks", "golden", "golden.3.qcow2");
        await QemuImg.RunAsync("check", mergedFile);
        await QemuImg.IoAsync("qcow2", mergedFile, "read -P 0x42 1M 1M", "read -P 0x43 2M 1M", "read -P 0 3M 1M");

        var show = await _cli.OkAsync("vdisk", "show", "golden");
        Assert.Contains("merged from versions 1-2", show.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_in_qcow2_and_bad_formats_are_usage_errors()
    {
        var created = await _cli.JsonAsync("vdisk", "create", "q", "--size", "1G", "--format", "qcow2");
        Assert.Equal("qcow2", created.GetProperty("format").GetString());
        var info = JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", Path.Combine(_cli.DataFolder, "vdisks", "q", "q.1.qcow2"))).RootElement;
        Assert.Equal(1L << 30, info.GetProperty("virtual-size").GetInt64());

        var bad = await _cli.RunAsync("vdisk", "create", "v", "--size", "1G", "--format", "vhdx");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("vdisk import", bad.Stderr, StringComparison.Ordinal);

        var missing = await _cli.RunAsync("vdisk", "import", "m", "/nonexistent.img");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no file /nonexistent.img", missing.Stderr, StringComparison.Ordinal);
    }
}
