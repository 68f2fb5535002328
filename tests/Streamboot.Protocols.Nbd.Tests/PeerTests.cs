using Streamboot.Testing;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>libnbd's tools, qemu's tools and fio against the server, as a boot client would use them.</summary>
public sealed class PeerTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task Nbdinfo_lists_exports_and_maps_holes()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("alpha", 4 * MiB, description: "first disk");
        var sparse = server.AddRaw("sparse", 8 * MiB, fill: false);
        await using (var file = new FileStream(sparse, FileMode.Open))
        {
            file.Position = 2 * MiB;
            file.Write(NbdTestServer.Pattern(MiB, 1));
        }

        var list = await Peers.NbdInfoAsync("--list", $"nbd://127.0.0.1:{server.Port}");
        Assert.Contains("export=\"alpha\"", list, StringComparison.Ordinal);
        Assert.Contains("first disk", list, StringComparison.Ordinal);
        Assert.Contains("export=\"sparse\"", list, StringComparison.Ordinal);

        var map = await Peers.NbdInfoAsync("--map", server.Url("sparse"));
        // The extents may come in any split; what each byte is must be right.
        foreach (var line in map.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var offset = long.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture);
            var length = long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
            var isData = offset >= 2 * MiB && offset + length <= 3 * MiB;
            Assert.True(isData ? fields[2] == "0" : fields[2] == "3", map);
        }

        Assert.Contains("2097152", map, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nbdcopy_copies_both_ways_byte_for_byte()
    {
        await using var server = NbdTestServer.Start();
        var source = server.AddRaw("source", 24 * MiB);
        var target = server.AddRaw("target", 24 * MiB, fill: false);
        var local = server.Folder.Combine("copy.raw");

        await Peers.NbdCopyAsync(server.Url("source"), local);
        // The client does not wait for the server to close the image, which it holds exclusively until then.
        await server.Provider.WaitUntilClosedAsync();
        Assert.True(FilesEqual(source, local), "nbdcopy from the server changed the data");

        var other = server.Folder.Combine("other.raw");
        await File.WriteAllBytesAsync(other, NbdTestServer.Pattern(24 * MiB, 7));
        await Peers.NbdCopyAsync("--flush", other, server.Url("target"));
        await server.Provider.WaitUntilClosedAsync();
        Assert.True(FilesEqual(other, target), "nbdcopy to the server changed the data");
    }

    [Fact]
    public async Task Qemu_img_reads_converts_and_compares_a_qcow2_export()
    {
        await using var server = NbdTestServer.Start();
        var qcow2 = server.Folder.Combine("disk.qcow2");
        var raw = server.AddRaw("seed", 16 * MiB);
        await QemuImg.RunAsync("convert", "-f", "raw", "-O", "qcow2", raw, qcow2);
        server.Provider.Add("vdisk", qcow2);

        var info = await QemuImg.RunAsync("info", "--output=json", server.Url("vdisk"));
        Assert.Contains("\"virtual-size\": 16777216", info, StringComparison.Ordinal);
        await QemuImg.RunAsync("compare", "-f", "raw", "-F", "raw", raw, server.Url("vdisk"));

        var converted = server.Folder.Combine("converted.raw");
        await QemuImg.RunAsync("convert", "-f", "raw", "-O", "raw", server.Url("vdisk"), converted);
        Assert.True(FilesEqual(raw, converted));

        // Write through qemu-img into the qcow2 export, then let qemu check the file.
        var blank = server.AddRaw("blank", 16 * MiB, fill: false);
        await QemuImg.RunAsync("convert", "-n", "-f", "raw", "-O", "raw", raw, server.Url("blank"));
        await server.Provider.WaitUntilClosedAsync();
        Assert.True(FilesEqual(raw, blank));
        await QemuImg.RunAsync("check", qcow2);
    }

    [Fact]
    public async Task Qemu_io_writes_and_reads_patterns()
    {
        await using var server = NbdTestServer.Start();
        var path = server.AddRaw("disk", 8 * MiB, fill: false);
        await QemuImg.IoAsync("raw", server.Url("disk"), "write -P 0xab 1M 64k", "write -P 0x5c -f 3M 4k", "flush", "write -z 1M 4k");
        await QemuImg.IoAsync("raw", server.Url("disk"), "read -P 0 1M 4k", "read -P 0xab 1052672 61440", "read -P 0x5c 3M 4k", "read -P 0 0 1M");
        await server.Provider.WaitUntilClosedAsync();
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Equal(0xab, bytes[MiB + 4096]);
        Assert.Equal(0x5c, bytes[(3 * MiB) + 100]);
    }

    [Fact]
    public async Task Fio_runs_random_reads_and_writes_with_verification()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", 64 * MiB, fill: false);
        var output = await Peers.CheckAsync(
            "fio", "fio",
            "--name=nbd", "--ioengine=nbd", $"--uri={server.Url("disk")}", "--rw=randwrite", "--bs=4k", "--iodepth=16",
            "--size=16M", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--output-format=terse");
        Assert.DoesNotContain("verify", output.Split(';').Skip(5).FirstOrDefault() ?? "", StringComparison.Ordinal);
        await Peers.CheckAsync(
            "fio", "fio",
            "--name=nbd", "--ioengine=nbd", $"--uri={server.Url("disk")}", "--rw=randread", "--bs=64k", "--iodepth=8",
            "--size=64M", "--time_based", "--runtime=1");
    }

    [Fact]
    public async Task Unknown_export_is_an_error_and_the_server_goes_on()
    {
        await using var server = NbdTestServer.Start();
        server.AddRaw("disk", MiB);
        var result = await Peers.RunAsync("nbdinfo", "libnbd-bin", server.Url("nope"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("nope", result.Stderr, StringComparison.Ordinal);
        await Peers.NbdInfoAsync(server.Url("disk"));
    }

    internal static bool FilesEqual(string a, string b)
    {
        var x = File.ReadAllBytes(a);
        var y = File.ReadAllBytes(b);
        return x.AsSpan().SequenceEqual(y);
    }
}
