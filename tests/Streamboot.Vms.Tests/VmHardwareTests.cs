using System.Globalization;
using System.Text.Json.Nodes;
using Streamboot.Testing;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests;

/// <summary>
/// Customized hardware (<c>--add-disk</c>, <c>--add-nic</c>, <c>--sound</c>,
/// <c>--usb</c>, <c>--display</c>, <c>--serial-ports</c>, <c>--tpm</c>): all
/// of it on one VM, checked in QEMU's view (<c>info qtree</c>,
/// <c>query-block</c>) and, what a guest sees (disks, network cards, the
/// TPM), in one boot of the test installer.
/// </summary>
public sealed class VmHardwareTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _site.DisposeAsync().AsTask();

    [Fact]
    public async Task More_disks_and_nics_sound_usb_display_and_serial_ports_are_in_qemu_and_the_guest_sees_the_disks_and_nics()
    {
        var iso = await TestIso.PathAsync();
        await _site.CreateOkAsync(
            "hw1", "--iso", iso, "--disk-size", "32M", "--memory", "256", "--cores", "1",
            "--add-disk", "16M:virtio-scsi", "--add-disk", "8M:sata", "--add-nic", "nat",
            "--sound", "hda", "--usb", "ehci", "--display", "virtio", "--serial-ports", "2", "--tpm");
        var shown = await _site.ShowAsync("hw1");
        var hardware = shown.GetProperty("hardware");
        var extraMac = hardware.GetProperty("nics")[0].GetProperty("mac").GetString()!;
        Assert.NotEqual(shown.GetProperty("mac").GetString(), extraMac);
        var disk2 = Path.Combine(_site.VmFolder("hw1"), "hw1-disk2.qcow2");
        var disk3 = Path.Combine(_site.VmFolder("hw1"), "hw1-disk3.qcow2");
        Assert.Equal(disk2, hardware.GetProperty("disks")[0].GetProperty("file").GetString());

        var start = await _site.Cli.RunAsync("vm", "start", "hw1", "--accel", "tcg", "--wait-for", TestIso.Ready, "--timeout", "240");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("hw1"));

        var tree = await TreeAsync("hw1");
        Assert.Contains("dev: virtio-scsi-pci, id \"scsi0\"", tree, StringComparison.Ordinal);
        Assert.Contains("dev: scsi-hd", tree, StringComparison.Ordinal);
        Assert.Contains("dev: intel-hda, id \"sound0\"", tree, StringComparison.Ordinal);
        Assert.Contains("dev: hda-duplex", tree, StringComparison.Ordinal);
        Assert.Contains("dev: usb-ehci, id \"usb\"", tree, StringComparison.Ordinal);
        Assert.Contains("dev: usb-tablet", tree, StringComparison.Ordinal);
        Assert.DoesNotContain("qemu-xhci", tree, StringComparison.Ordinal);
        Assert.Contains("dev: virtio-vga", tree, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(tree, "dev: virtio-net-pci"));
        Assert.Contains($"mac = \"{extraMac}\"", tree, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(tree, "dev: isa-serial"));
        Assert.Contains("dev: tpm-tis", tree, StringComparison.Ordinal);
        Assert.Equal("2", _site.Fields("hw1", "TESTISO tpm:")["version"]);
        Assert.True(hardware.GetProperty("tpm").GetBoolean());
        var swtpmPid = int.Parse(File.ReadAllText(Path.Combine(_site.VmFolder("hw1"), "swtpm.pid")).Trim(), CultureInfo.InvariantCulture);
        Assert.True(Directory.Exists($"/proc/{swtpmPid}"), "swtpm runs beside QEMU");
        Assert.True(File.Exists(Path.Combine(_site.VmFolder("hw1"), "serial1.sock")), "the second serial port is a socket in the VM's folder");

        await using (var qmp = await QmpClient.ConnectAsync(Path.Combine(_site.VmFolder("hw1"), "qmp.sock")))
        {
            var blocks = (await qmp.ExecuteAsync("query-block"))!.AsArray()
                .Where(b => b!["inserted"] is not null)
                .ToDictionary(b => b!["device"]!.GetValue<string>(), b => b!["inserted"]!["file"]!.GetValue<string>());
            Assert.Equal(disk2, blocks["disk1"]);
            Assert.Equal(disk3, blocks["disk2"]);
        }

        // Inside the guest: the first disk on virtio-blk, the two added ones as SCSI/SATA disks, both network cards.
        var disks = _site.Fields("hw1", "TESTISO disks:");
        Assert.Equal((32L << 20).ToString(CultureInfo.InvariantCulture), disks["vda"]);
        Assert.Equal(
            new[] { 8L << 20, 16L << 20 },
            disks.Where(d => d.Key.StartsWith("sd", StringComparison.Ordinal)).Select(d => long.Parse(d.Value, CultureInfo.InvariantCulture)).Order());
        var nics = _site.Fields("hw1", "TESTISO nics:");
        Assert.Equal(new[] { shown.GetProperty("mac").GetString(), extraMac }.Order(), nics.Values.Order());

        await _site.Cli.OkAsync("vm", "stop", "hw1", "--hard");
        // swtpm --terminate ends when QEMU's connection closes.
        for (var i = 0; i < 50 && File.Exists($"/proc/{swtpmPid}/cmdline") && File.ReadAllText($"/proc/{swtpmPid}/cmdline").Length > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(!File.Exists($"/proc/{swtpmPid}/cmdline") || File.ReadAllText($"/proc/{swtpmPid}/cmdline").Length == 0, "swtpm ends with the VM");
        Assert.True(Directory.EnumerateFileSystemEntries(Path.Combine(_site.VmFolder("hw1"), "tpm")).Any(), "the TPM's state stays for the next start");
        await _site.Cli.OkAsync("vm", "delete", "hw1");
        Assert.False(File.Exists(disk2), "delete removes the added disks");
        Assert.False(Directory.Exists(_site.VmFolder("hw1")), "and the TPM's state, and the folder");
    }

    [Fact]
    public async Task A_windows_guest_gets_secure_boot_with_microsofts_keys_and_a_tpm_and_the_firmware_runs()
    {
        await _site.CreateOkAsync("win1", "--guest-os", "windows", "--disk-size", "8M", "--memory", "256", "--cores", "1", "--network", "none");
        var shown = await _site.ShowAsync("win1");
        Assert.Equal(("uefi", "q35"), (shown.GetProperty("firmware").GetString(), shown.GetProperty("machineType").GetString()));
        Assert.True(shown.GetProperty("hardware").GetProperty("secureBoot").GetBoolean());
        Assert.True(shown.GetProperty("hardware").GetProperty("tpm").GetBoolean());
        // Its variable store starts as Debian's with Microsoft's keys enrolled and Secure Boot on.
        Assert.Equal(await File.ReadAllBytesAsync("/usr/share/OVMF/OVMF_VARS_4M.ms.fd"), await File.ReadAllBytesAsync(Path.Combine(_site.VmFolder("win1"), "OVMF_VARS.fd")));

        var start = await _site.Cli.RunAsync("vm", "start", "win1", "--accel", "tcg", "--wait-for", "BdsDxe", "--timeout", "180");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("win1"));
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(_site.VmFolder("win1"), "qmp.sock"));
        Assert.Equal("on", (await qmp.ExecuteAsync("qom-get", new JsonObject { ["path"] = "/machine", ["property"] = "smm" }))!.GetValue<string>());
        var flash = (await qmp.ExecuteAsync("query-block"))!.AsArray()
            .Where(b => b!["inserted"] is not null)
            .ToDictionary(b => b!["device"]!.GetValue<string>(), b => b!["inserted"]!["file"]!.GetValue<string>());
        Assert.Equal("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", flash["pflash0"]);
        var tree = (await qmp.ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = "info qtree" }))!.GetValue<string>();
        Assert.Contains("dev: tpm-tis", tree, StringComparison.Ordinal);
    }

    private async Task<string> TreeAsync(string vm)
    {
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(_site.VmFolder(vm), "qmp.sock"));
        return (await qmp.ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = "info qtree" }))!.GetValue<string>();
    }

    private static int CountOf(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;
}
