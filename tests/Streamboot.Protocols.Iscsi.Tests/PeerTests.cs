namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>libiscsi's tools and qemu's libiscsi driver against the target: discovery, login, CHAP, digests, data.</summary>
public sealed class PeerTests : IAsyncLifetime
{
    private IscsiTestServer _server = null!;

    public Task InitializeAsync()
    {
        _server = IscsiTestServer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Iscsi_ls_discovers_the_open_targets_and_their_lun()
    {
        var listing = await Peers.LibiscsiAsync("iscsi-ls", "-s", _server.Portal);
        Assert.Contains($"Target:{IscsiTestServer.Disk} Portal:127.0.0.1:{_server.Port},1", listing, StringComparison.Ordinal);
        Assert.Contains("Lun:0    Type:DIRECT_ACCESS (Size:", listing, StringComparison.Ordinal);
        Assert.Contains($"Target:{IscsiTestServer.ReadOnlyDisk} ", listing, StringComparison.Ordinal);
        Assert.DoesNotContain(IscsiTestServer.ChapDisk, listing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Iscsi_inq_and_readcapacity16_describe_the_disk()
    {
        var inquiry = await Peers.LibiscsiAsync("iscsi-inq", _server.Url(IscsiTestServer.Disk));
        Assert.Contains("Peripheral Device Type:DIRECT_ACCESS", inquiry, StringComparison.Ordinal);
        Assert.Contains("Vendor:STRMBOOT", inquiry, StringComparison.Ordinal);
        var serial = await Peers.LibiscsiAsync("iscsi-inq", "-e", "1", "-c", "128", _server.Url(IscsiTestServer.Disk));
        Assert.Contains("Unit Serial Number:[", serial, StringComparison.Ordinal);
        var identification = await Peers.LibiscsiAsync("iscsi-inq", "-e", "1", "-c", "131", _server.Url(IscsiTestServer.Disk));
        Assert.Contains("Designator Type:(3) NAA", identification, StringComparison.Ordinal);
        Assert.Contains($"Designator:[{IscsiTestServer.Disk}]", identification, StringComparison.Ordinal);
        var capacity = await Peers.LibiscsiAsync("iscsi-readcapacity16", _server.Url(IscsiTestServer.Disk));
        Assert.Contains("LOGICAL BLOCK LENGTH IN BYTES:512", capacity, StringComparison.Ordinal);
        Assert.Contains("Total size:67108864", capacity, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Iscsi_swp_shows_the_write_protection_of_the_read_only_view()
    {
        var writable = await Peers.LibiscsiAsync("iscsi-swp", _server.Url(IscsiTestServer.Disk));
        Assert.Contains("SWP:0", writable, StringComparison.Ordinal);
        // Software write protect is not changeable here: the view decides.
        var set = await Peers.RunAsync("iscsi-swp", "libiscsi-bin", "-s", "on", _server.Url(IscsiTestServer.Disk));
        Assert.NotEqual(0, set.ExitCode);
    }

    [Fact]
    public async Task Qemu_writes_and_reads_back_through_r2t_and_immediate_data()
    {
        var url = _server.Url(IscsiTestServer.Disk);
        // 3 MiB spans several solicited bursts; 4 KiB rides as immediate data.
        await Peers.QemuIoAsync(url, "write -P 0x5a 1M 3M", "write -P 0xa5 8M 4k", "read -P 0x5a 1M 3M", "read -P 0xa5 8M 4k");
        await Peers.QemuIoAsync(url, "write -z 1M 1M", "read -P 0 1M 1M", "read -P 0x5a 2M 1M", "flush");
    }

    [Fact]
    public async Task The_read_only_view_refuses_writes_with_data_protect()
    {
        var result = await Peers.RunAsync("qemu-io", "qemu-utils", "-f", "raw", "-c", "write -P 1 0 4k", _server.Url(IscsiTestServer.ReadOnlyDisk));
        Assert.True(result.ExitCode != 0 || result.Stderr.Contains("failed", StringComparison.OrdinalIgnoreCase) || result.Stdout.Contains("failed", StringComparison.OrdinalIgnoreCase), result.ToString());
    }

    [Fact]
    public async Task Chap_one_way_and_mutual_log_in_and_a_wrong_secret_does_not()
    {
        var user = $"{IscsiTestServer.ChapName}%{IscsiTestServer.Secret}";
        await Peers.LibiscsiAsync("iscsi-inq", _server.Url(IscsiTestServer.ChapDisk, user));
        var mutual = $"target_user={IscsiTestServer.ChapDisk}&target_password={IscsiTestServer.TargetSecret}";
        await Peers.LibiscsiAsync("iscsi-readcapacity16", _server.Url(IscsiTestServer.ChapDisk, user, mutual));

        var wrong = await Peers.RunAsync("iscsi-inq", "libiscsi-bin", _server.Url(IscsiTestServer.ChapDisk, $"{IscsiTestServer.ChapName}%wrongwrongwrong1"));
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("Authentication failure", wrong.Stderr + wrong.Stdout, StringComparison.Ordinal);
        var none = await Peers.RunAsync("iscsi-inq", "libiscsi-bin", _server.Url(IscsiTestServer.ChapDisk));
        Assert.NotEqual(0, none.ExitCode);

        // The target proves itself too: an initiator expecting another target secret gives up.
        var impostor = await Peers.RunAsync("iscsi-inq", "libiscsi-bin", _server.Url(IscsiTestServer.ChapDisk, user, $"target_user={IscsiTestServer.ChapDisk}&target_password=NotTheTargetOne1"));
        Assert.NotEqual(0, impostor.ExitCode);
    }

    [Fact]
    public async Task Crc32c_header_digests_carry_reads_and_writes()
    {
        // libiscsi asks for CRC32C header digests with this URL argument (it has no data digests).
        var url = _server.Url(IscsiTestServer.Disk, query: "header_digest=crc32c");
        await Peers.LibiscsiAsync("iscsi-inq", url);
        foreach (var suite in new[] { "SCSI.Write10", "SCSI.Read10", "SCSI.CompareAndWrite" })
        {
            var outcomes = await Streamboot.Testing.IscsiTestCu.RunAsync(url, suite);
            Assert.NotEmpty(outcomes);
            Assert.All(outcomes, t => Assert.True(t.Value, t.Key));
        }
    }

    [Fact]
    public async Task Every_session_lets_go_of_its_device_exactly_once()
    {
        for (var i = 0; i < 3; i++)
        {
            await Peers.LibiscsiAsync("iscsi-inq", _server.Url(IscsiTestServer.Disk));
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_server.Provider.Closes < _server.Provider.Opens && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(_server.Provider.Opens, _server.Provider.Closes);
        Assert.Equal(0, _server.Server.SessionCount);
    }
}
