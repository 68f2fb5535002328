using System.Globalization;
using System.Text.Json.Nodes;
using Streamboot.Testing;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests;

/// <summary>
/// The disk questions of <c>vm create</c>: the I/O controller and disk type,
/// an existing image copied (any format qemu-img reads) or attached where
/// it is, and a physical disk (a loop device here) with its warning. Each
/// is checked in QEMU's own view (<c>info qtree</c>, <c>query-block</c>);
/// the NVMe copy also inside the guest (the test installer ISO lists the
/// disks the kernel found).
/// </summary>
public sealed class VmDiskTests : IAsyncLifetime
{
    private readonly VmSite _site = new();
    private string? _loop;

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _site.DisposeAsync();
        if (_loop is not null)
        {
            await ProcessRunner.RunAsync("losetup", ["-d", _loop]);
        }
    }

    [Fact]
    public async Task An_existing_vmdk_is_copied_onto_an_nvme_disk_the_guest_sees_with_its_data_and_delete_leaves_the_original()
    {
        var iso = await TestIso.PathAsync();
        var vmdk = Path.Combine(_site.Cli.DataFolder, "old.vmdk");
        await QemuImg.RunAsync("create", "-q", "-f", "vmdk", vmdk, "48M");
        await QemuImg.IoAsync("vmdk", vmdk, "write -P 0xab 1M 64k");

        await _site.CreateOkAsync("nvme1", "--iso", iso, "--existing-disk", vmdk, "--disk-bus", "nvme", "--memory", "256", "--cores", "1");
        var audit = (await _site.Cli.OkAsync("audit", "list", "--json")).Stdout;
        Assert.Contains("diskCopiedFrom", audit, StringComparison.Ordinal);
        Assert.Contains(vmdk, audit, StringComparison.Ordinal);
        var copy = Path.Combine(_site.VmFolder("nvme1"), "nvme1.qcow2");
        var shown = await _site.ShowAsync("nvme1");
        Assert.Equal("nvme", shown.GetProperty("diskBus").GetString());
        Assert.False(shown.GetProperty("diskAttached").GetBoolean());
        Assert.Equal(copy, shown.GetProperty("diskFile").GetString());
        Assert.Equal(48L << 20, shown.GetProperty("diskSizeBytes").GetInt64());
        // The copy holds the original's data (qemu-io checks the pattern; it fails on a mismatch).
        await QemuImg.IoAsync("qcow2", copy, "read -P 0xab 1M 64k");

        var start = await _site.Cli.RunAsync("vm", "start", "nvme1", "--accel", "tcg", "--wait-for", TestIso.Ready, "--timeout", "240");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("nvme1"));
        var tree = await TreeAsync("nvme1");
        Assert.Contains("dev: nvme, id \"nvme0\"", tree, StringComparison.Ordinal);
        Assert.Contains("serial = \"streamboot-disk0\"", tree, StringComparison.Ordinal);
        Assert.DoesNotContain("dev: virtio-blk-pci", tree, StringComparison.Ordinal);
        Assert.Equal((copy, "qcow2"), (await BlocksAsync("nvme1"))["disk0"]);
        var disks = _site.Fields("nvme1", "TESTISO disks:");
        Assert.Equal((48L << 20).ToString(CultureInfo.InvariantCulture), disks["nvme0n1"]);
        Assert.Equal("nvme0n1", _site.Fields("nvme1", "TESTISO hardware:")["disk"]);

        await _site.Cli.OkAsync("vm", "stop", "nvme1", "--hard");
        await _site.Cli.OkAsync("vm", "delete", "nvme1");
        Assert.False(File.Exists(copy), "the VM's copy goes with it");
        Assert.True(File.Exists(vmdk), "the image it was copied from stays");
    }

    [Fact]
    public async Task A_raw_image_attached_on_virtio_scsi_is_used_where_it_is_and_kept_by_delete_and_other_formats_are_copied_only()
    {
        var raw = Path.Combine(_site.Cli.DataFolder, "shared.img");
        await QemuImg.RunAsync("create", "-q", "-f", "raw", raw, "24M");
        await _site.CreateOkAsync("scsi1", "--existing-disk", raw, "--attach", "--disk-bus", "virtio-scsi", "--memory", "128", "--cores", "1");
        var shown = await _site.ShowAsync("scsi1");
        Assert.Equal(raw, shown.GetProperty("diskFile").GetString());
        Assert.Equal("raw", shown.GetProperty("diskFormat").GetString());
        Assert.True(shown.GetProperty("diskAttached").GetBoolean());
        var human = await _site.Cli.OkAsync("vm", "show", "scsi1");
        Assert.Contains("24 MiB raw on virtio-scsi (attached: vm delete leaves it): " + raw, human.Stdout, StringComparison.Ordinal);

        // One image, one VM: a second attach is refused.
        var twice = await _site.CreateAsync("scsi2", "--existing-disk", raw, "--attach");
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("is the disk of another VM already", twice.Stderr, StringComparison.Ordinal);

        var vmdk = Path.Combine(_site.Cli.DataFolder, "old.vmdk");
        await QemuImg.RunAsync("create", "-q", "-f", "vmdk", vmdk, "8M");
        var attachVmdk = await _site.CreateAsync("vmdk1", "--existing-disk", vmdk, "--attach");
        Assert.Equal(2, attachVmdk.ExitCode);
        Assert.Contains("is vmdk: only raw and qcow2 disks are attached where they are", attachVmdk.Stderr, StringComparison.Ordinal);

        await _site.Cli.OkAsync("vm", "start", "scsi1", "--accel", "tcg");
        var tree = await TreeAsync("scsi1");
        Assert.Contains("dev: virtio-scsi-pci, id \"scsi0\"", tree, StringComparison.Ordinal);
        Assert.Contains("dev: scsi-hd", tree, StringComparison.Ordinal);
        Assert.Equal((raw, "raw"), (await BlocksAsync("scsi1"))["disk0"]);

        await _site.Cli.OkAsync("vm", "stop", "scsi1", "--hard");
        await _site.Cli.OkAsync("vm", "delete", "scsi1");
        Assert.True(File.Exists(raw), "an attached disk is not the VM's to delete");
    }

    [Fact]
    public async Task A_physical_disk_is_attached_whole_on_sata_of_the_i440fx_with_a_warning_and_ide_is_the_old_piix()
    {
        var backing = Path.Combine(_site.Cli.DataFolder, "physical.img");
        await QemuImg.RunAsync("create", "-q", "-f", "raw", backing, "16M");
        var losetup = await ProcessRunner.RunAsync("losetup", ["--find", "--show", backing]);
        Assert.True(losetup.ExitCode == 0, "losetup (util-linux) makes the block device: " + losetup);
        _loop = losetup.Stdout.Trim();

        var copyOptions = await _site.CreateAsync("phys2", "--existing-disk", _loop, "--disk-format", "qcow2");
        Assert.Equal(2, copyOptions.ExitCode);
        Assert.Contains("is a physical disk, used whole as it is", copyOptions.Stderr, StringComparison.Ordinal);

        var created = await _site.CreateOkAsync("phys1", "--machine", "pc", "--existing-disk", _loop, "--disk-bus", "sata", "--memory", "128", "--cores", "1");
        Assert.Contains($"note: the VM gets the physical disk {_loop} (16 MiB) whole: the guest can overwrite everything on it", created.Stderr, StringComparison.Ordinal);
        var shown = await _site.ShowAsync("phys1");
        Assert.Equal(_loop, shown.GetProperty("diskFile").GetString());
        Assert.True(shown.GetProperty("diskAttached").GetBoolean());
        Assert.Equal("sata", shown.GetProperty("diskBus").GetString());

        await _site.CreateOkAsync("ide1", "--machine", "pc", "--disk-bus", "ide", "--disk-size", "8M", "--memory", "128", "--cores", "1");

        await _site.Cli.OkAsync("vm", "start", "phys1", "--accel", "tcg");
        var tree = await TreeAsync("phys1");
        // The i440FX has no AHCI of its own: the VM gets an AHCI card, the disk on its first port.
        Assert.Contains("dev: ich9-ahci, id \"ahci0\"", tree, StringComparison.Ordinal);
        Assert.Equal((_loop, "raw"), (await BlocksAsync("phys1"))["disk0"]);
        var capture = await _site.Cli.RunAsync("vm", "capture", "phys1", "--vdisk", "golden");
        Assert.Equal(1, capture.ExitCode);
        await _site.Cli.OkAsync("vm", "stop", "phys1", "--hard");
        capture = await _site.Cli.RunAsync("vm", "capture", "phys1", "--vdisk", "golden");
        Assert.Equal(1, capture.ExitCode);
        Assert.Contains($"runs on the physical disk {_loop}; copy it into an image first", capture.Stderr, StringComparison.Ordinal);

        await _site.Cli.OkAsync("vm", "start", "ide1", "--accel", "tcg");
        tree = await TreeAsync("ide1");
        Assert.DoesNotContain("ahci", tree, StringComparison.Ordinal);
        Assert.Contains("dev: piix3-ide", tree, StringComparison.Ordinal);
        Assert.Contains("dev: ide-hd", tree, StringComparison.Ordinal);

        await _site.Cli.OkAsync("vm", "delete", "phys1");
        Assert.True(File.Exists(_loop), "a physical disk is never deleted");
    }

    private async Task<string> TreeAsync(string vm)
    {
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(_site.VmFolder(vm), "qmp.sock"));
        return (await qmp.ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = "info qtree" }))!.GetValue<string>();
    }

    private async Task<Dictionary<string, (string File, string Format)>> BlocksAsync(string vm)
    {
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(_site.VmFolder(vm), "qmp.sock"));
        var blocks = (await qmp.ExecuteAsync("query-block"))!.AsArray();
        return blocks
            .Where(b => b!["inserted"] is not null)
            .ToDictionary(b => b!["device"]!.GetValue<string>(), b => (b!["inserted"]!["file"]!.GetValue<string>(), b!["inserted"]!["drv"]!.GetValue<string>()));
    }
}
