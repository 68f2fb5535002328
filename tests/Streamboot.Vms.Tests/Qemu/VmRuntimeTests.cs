using System.Text.Json.Nodes;
using Streamboot.Testing;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests.Qemu;

/// <summary>
/// The hardware QEMU really builds from a VM's definition, read back from
/// the running QEMU over QMP (<c>info qtree</c>, <c>query-block</c>), and
/// the runtime's start, state and stop. No OS: the firmware is enough.
/// </summary>
public sealed class VmRuntimeTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new("vm,runtime");
    private readonly List<VmFolder> _started = [];

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var folder in _started)
        {
            await VmRuntime.StopAsync(folder, TimeSpan.Zero, hard: true);
        }

        _folder.Dispose();
    }

    [Fact]
    public async Task A_linux_guest_on_q35_gets_virtio_disk_and_nic_and_its_cds_on_ahci()
    {
        var folder = Folder("linux");
        var vm = Hardware("linux-q35") with
        {
            MachineType = "q35",
            GuestOs = GuestOsFamily.Linux,
            DiskFile = await DiskAsync(folder),
            DiskFormat = "qcow2",
            InstallerIso = await IsoAsync(folder, "installer.iso"),
            SeedFile = await IsoAsync(folder, "seed.iso"),
            Network = VmNetworkMode.Nat,
            Sockets = 2,
            CoresPerSocket = 1,
            MemoryMiB = 160,
        };

        var tree = await StartAndReadAsync(vm, folder);

        Assert.Contains("dev: virtio-blk-pci", tree, StringComparison.Ordinal);
        Assert.Contains("dev: virtio-net-pci", tree, StringComparison.Ordinal);
        Assert.Contains($"mac = \"{vm.Mac}\"", tree, StringComparison.Ordinal);
        Assert.Contains("dev: ich9-ahci", tree, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(tree, "dev: ide-cd"));
        var blocks = await QueryBlocksAsync(folder);
        Assert.Equal(vm.DiskFile, blocks["disk0"]);
        Assert.Equal(vm.InstallerIso, blocks["cd0"]);
        Assert.Equal(vm.SeedFile, blocks["cd1"]);
        var cpus = await QmpAsync(folder, "query-cpus-fast");
        Assert.Equal(2, cpus!.AsArray().Count);
        var state = VmRuntime.State(folder);
        Assert.True(state.Running);
        Assert.Equal("tcg", state.Accelerator);
    }

    [Fact]
    public async Task A_windows_guest_on_the_i440fx_gets_ide_disk_an_e1000_and_uefi_from_ovmf()
    {
        var folder = Folder("windows");
        var ovmf = OvmfFirmware.Find() ?? throw new InvalidOperationException(OvmfFirmware.Missing());
        File.Copy(ovmf.VarsTemplate, folder.UefiVars);
        var vm = Hardware("win-pc") with
        {
            MachineType = "pc",
            GuestOs = GuestOsFamily.Windows,
            Firmware = VmFirmware.Uefi,
            DiskFile = await DiskAsync(folder),
            DiskFormat = "qcow2",
            InstallerIso = await IsoAsync(folder, "installer.iso"),
            Network = VmNetworkMode.Nat,
        };

        var tree = await StartAndReadAsync(vm, folder);

        Assert.Contains("dev: ide-hd", tree, StringComparison.Ordinal);
        Assert.Contains("dev: ide-cd", tree, StringComparison.Ordinal);
        Assert.Contains("dev: e1000", tree, StringComparison.Ordinal);
        Assert.DoesNotContain("virtio", tree, StringComparison.Ordinal);
        // OVMF runs: it prints its boot manager on the serial port.
        Assert.Equal(VmWaitOutcome.Seen, await VmRuntime.WaitForConsoleAsync(folder, "BdsDxe", TimeSpan.FromMinutes(2)));
    }

    [Fact]
    public async Task A_diskless_guest_boots_its_nic_with_the_boot_url_in_the_nat_dhcp_answer_and_a_stop_is_a_stop()
    {
        var folder = Folder("netboot");
        var vm = Hardware("diskless") with
        {
            Network = VmNetworkMode.Netboot,
            NetbootUrl = "http://10.0.2.2:1/boot.ipxe",
        };

        var tree = await StartAndReadAsync(vm, folder);
        // Its card keeps QEMU's iPXE ROM (the others get romfile="", no PXE).
        Assert.Matches("romfile = \"[^\"]+\\.rom\"", tree);
        Assert.DoesNotContain("dev: virtio-blk-pci", tree, StringComparison.Ordinal);

        // iPXE got the URL from QEMU's DHCP and tries it (nothing listens there).
        Assert.Equal(VmWaitOutcome.Seen, await VmRuntime.WaitForConsoleAsync(folder, "http://10.0.2.2:1/boot.ipxe", TimeSpan.FromMinutes(2)));

        var second = await VmRuntime.StartAsync(vm, folder, Accelerator.Tcg);
        Assert.False(second.Ok);
        Assert.Contains("already running", second.Error, StringComparison.Ordinal);

        // The firmware ignores the power button: the stop turns hard after the timeout.
        var stop = await VmRuntime.StopAsync(folder, TimeSpan.FromSeconds(2), hard: false);
        Assert.Equal(VmStopOutcome.StoppedAfterTimeout, stop.Outcome);
        Assert.False(VmRuntime.State(folder).Running);
        Assert.False(File.Exists(folder.PidFile));
        Assert.Equal(VmStopOutcome.NotRunning, (await VmRuntime.StopAsync(folder, TimeSpan.Zero, hard: true)).Outcome);
    }

    [Fact]
    public async Task A_wedged_qemu_that_never_answers_qmp_is_still_stopped()
    {
        var folder = Folder("wedged");
        await StartAndReadAsync(Hardware("wedged"), folder);
        var pid = VmRuntime.State(folder).Pid!.Value;
        // SIGSTOP: the QMP socket still accepts (the kernel queues the
        // connection) but QEMU never greets or answers.
        Assert.Equal(0, (await ProcessRunner.RunAsync("kill", ["-STOP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])).ExitCode);

        var stop = await VmRuntime.StopAsync(folder, TimeSpan.FromSeconds(1), hard: false);

        Assert.Equal(VmStopOutcome.StoppedAfterTimeout, stop.Outcome);
        Assert.False(VmRuntime.State(folder).Running);
        // Gone, or dead and waiting for whoever reaps it (QEMU daemonized: not us).
        Assert.True(!File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z'), "QEMU is gone");
    }

    [Fact]
    public async Task A_missing_disk_or_firmware_is_one_line_and_nothing_starts()
    {
        var folder = Folder("missing");
        var vm = Hardware("missing") with { DiskFile = folder.Combine("gone.qcow2"), DiskFormat = "qcow2" };
        var result = await VmRuntime.StartAsync(vm, folder, Accelerator.Tcg);
        Assert.False(result.Ok);
        Assert.Equal($"the VM's disk {folder.Combine("gone.qcow2")} is missing", result.Error);
        Assert.False(VmRuntime.State(folder).Running);

        var bridged = Hardware("bridged") with { Network = VmNetworkMode.Bridge, Bridge = "nosuchbr0" };
        var noBridge = await VmRuntime.StartAsync(bridged, folder, Accelerator.Tcg);
        Assert.False(noBridge.Ok);
        Assert.Contains("there is no bridge 'nosuchbr0'", noBridge.Error, StringComparison.Ordinal);
    }

    private VmFolder Folder(string name)
    {
        var folder = new VmFolder(_folder.Combine(name));
        Directory.CreateDirectory(folder.Path);
        return folder;
    }

    private static VmHardware Hardware(string name) => new()
    {
        Name = name,
        Uuid = Guid.NewGuid(),
        MachineType = "q35",
        Mac = "52:54:00:" + string.Join(':', Guid.NewGuid().ToByteArray().Take(3).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))),
        MemoryMiB = 128,
    };

    private async Task<string> StartAndReadAsync(VmHardware vm, VmFolder folder)
    {
        var started = await VmRuntime.StartAsync(vm, folder, Accelerator.Tcg);
        Assert.True(started.Ok, started.Error);
        _started.Add(folder);
        Assert.True(started.Pid > 0);
        var tree = await QmpAsync(folder, "human-monitor-command", new JsonObject { ["command-line"] = "info qtree" });
        return tree!.GetValue<string>();
    }

    private static async Task<JsonNode?> QmpAsync(VmFolder folder, string command, JsonObject? arguments = null)
    {
        await using var qmp = await QmpClient.ConnectAsync(folder.QmpSocket);
        return await qmp.ExecuteAsync(command, arguments);
    }

    private static async Task<Dictionary<string, string>> QueryBlocksAsync(VmFolder folder)
    {
        var blocks = (await QmpAsync(folder, "query-block"))!.AsArray();
        return blocks
            .Where(b => b!["inserted"] is not null)
            .ToDictionary(b => b!["device"]!.GetValue<string>(), b => b!["inserted"]!["file"]!.GetValue<string>());
    }

    private static async Task<string> DiskAsync(VmFolder folder)
    {
        var disk = folder.Combine("disk.qcow2");
        await QemuImg.RunAsync("create", "-q", "-f", "qcow2", disk, "16M");
        return disk;
    }

    private static async Task<string> IsoAsync(VmFolder folder, string name)
    {
        var tree = folder.Combine(name + ".d");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "x"), name);
        var iso = folder.Combine(name);
        var result = await ProcessRunner.RunAsync("xorriso", ["-as", "mkisofs", "-quiet", "-o", iso, "-V", "T", tree]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return iso;
    }

    private static int CountOf(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;
}
