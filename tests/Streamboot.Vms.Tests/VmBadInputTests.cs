using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests;

/// <summary>Every wrong answer to the wizard: one clear line, the right exit code, and nothing left half-made.</summary>
public sealed class VmBadInputTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _site.DisposeAsync().AsTask();

    public static TheoryData<string[], int, string> Refusals() => new()
    {
        { ["--cores", "0"], 2, "a VM needs at least one processor" },
        { ["--sockets", "0", "--cores", "1"], 2, "a VM needs at least one processor" },
        { ["--cores", "4096"], 2, "more than this host's" },
        { ["--memory", "1048576G"], 2, "MiB of memory is more than this host has" },
        { ["--memory", "16"], 2, "is too little" },
        { ["--memory", "lots"], 2, "--memory" },
        { ["--disk-size", "100K"], 2, "is too small; the minimum is 1 MiB" },
        { ["--disk-size", "2000001"], 2, "whole number of 512-byte sectors" },
        { ["--disk-format", "vmdk"], 2, "is not a disk format" },
        { ["--machine", "microvm"], 2, "is not a PC machine type of this QEMU" },
        { ["--guest-os", "beos"], 2, "is not a guest OS type" },
        { ["--firmware", "coreboot"], 2, "is not a firmware" },
        { ["--network", "wifi"], 2, "is not a network mode" },
        { ["--network", "bridge"], 2, "--network bridge needs --bridge NAME" },
        { ["--bridge", "br0"], 2, "--bridge br0 needs --network bridge" },
        { ["--network", "netboot", "--disk-size", "1G"], 2, "a netboot VM is a diskless client" },
        { ["--collection", "default"], 2, "--collection registers a diskless client" },
        { ["--user", "alice"], 2, "easy install needs a password" },
        { ["--password", "x"], 2, "easy install needs a user name" },
        { ["--user", "Alice", "--password", "x"], 2, "Linux user names are lower case" },
        { ["--user", "root", "--password", "x"], 2, "exists on every system" },
        { ["--guest-os", "other", "--user", "a", "--password", "x"], 2, "easy install writes a cloud-init" },
        { ["--hostname", "h1"], 2, "--hostname goes into the easy-install seed" },
        { ["--guest-os", "windows", "--user", "a", "--password", "x", "--hostname", "much-too-long-for-netbios"], 2, "at most 15 characters" },
        { ["--password", "x", "--password-file", "/etc/hostname"], 2, "not both" },
        { ["--password-file", "/nonexistent/pw"], 2, "--password-file /nonexistent/pw" },
        { ["--mac", "52:54:00:zz:00:01"], 2, "is not a MAC address" },
        { ["--iso", "/nonexistent/debian.iso"], 1, "/nonexistent/debian.iso does not exist" },
        { ["--iso", "/etc/hostname"], 2, "is not an ISO 9660 image" },
        { ["--iso", "/etc"], 2, "is a folder" },
        { ["--collection", "nope", "--network", "netboot"], 1, "no collection 'nope'" },
        { ["--disk-file", "/proc/streamboot-test/disk.qcow2", "--disk-size", "8M"], 1, "cannot create VM 'bad1'" },
        { ["--disk-bus", "floppy"], 2, "'floppy' is not a disk type; use virtio-blk, virtio-scsi, sata, nvme or ide" },
        { ["--disk-bus", "ide"], 2, "the q35 machine has no IDE controller (its disks are SATA); use --disk-bus sata, or --machine pc" },
        { ["--existing-disk", "/nonexistent/old.vmdk"], 1, "--existing-disk /nonexistent/old.vmdk does not exist" },
        { ["--existing-disk", "/etc"], 2, "--existing-disk /etc is a folder" },
        { ["--existing-disk", "/etc/hostname", "--disk-size", "8M"], 2, "--disk-size is for a new disk" },
        { ["--attach"], 2, "--attach uses an existing disk where it is; give it with --existing-disk PATH" },
        { ["--network", "netboot", "--disk-bus", "nvme"], 2, "a netboot VM is a diskless client" },
        { ["--sound", "beep"], 2, "'beep' is not a sound card; use none, hda (Intel HD Audio) or ac97" },
        { ["--usb", "firewire"], 2, "'firewire' is not a USB controller" },
        { ["--display", "3dfx"], 2, "'3dfx' is not a display adapter; use std, virtio, qxl, cirrus or none" },
        { ["--serial-ports", "5"], 2, "--serial-ports 5: give 1 to 4" },
        { ["--add-disk", "lots"], 2, "--add-disk lots:" },
        { ["--add-disk", "1G:ide"], 2, "--add-disk 1G:ide: there is no room for disk 2 on ide on q35" },
        { ["--add-nic", "wifi"], 2, "--add-nic wifi: write nat, or bridge:NAME" },
        { ["--network", "netboot", "--add-disk", "1G"], 2, "a netboot VM is a diskless client" },
        { ["--guest-os", "windows", "--user", "eve", "--password", "x", "--product-key", "ABCDE-12345"], 2, "is not a Windows product key; write its five groups" },
        { ["--user", "eve", "--password", "x", "--edition", "Windows 11 Pro"], 2, "--product-key and --edition go into Windows' autounattend.xml; they need --guest-os windows" },
        { ["--guest-os", "windows", "--edition", "Windows 11 Pro"], 2, "go into the easy-install seed (autounattend.xml); give --user and --password" },
        { ["--tpm", "--no-tpm"], 2, "give --tpm or --no-tpm, not both" },
        { ["--secure-boot"], 2, "Secure Boot is UEFI's: give --firmware uefi with --secure-boot" },
        { ["--secure-boot", "--firmware", "uefi", "--machine", "pc"], 2, "Secure Boot needs System Management Mode, which QEMU gives the q35 machine only" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_bad_answer_is_one_line_and_makes_nothing(string[] flags, int exitCode, string message)
    {
        await _site.Cli.OkAsync("db", "status");
        var result = await _site.CreateAsync("bad1", flags);

        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.StartsWith("streamboot: ", StringComparison.Ordinal) && !line.StartsWith("streamboot: note:", StringComparison.Ordinal));
        Assert.Empty((await _site.Cli.JsonAsync("vm", "list")).EnumerateArray());
        Assert.False(Directory.Exists(_site.VmFolder("bad1")), "a refused VM leaves no folder");
        Assert.Empty((await _site.Cli.JsonAsync("device", "list")).EnumerateArray());
    }

    [Fact]
    public async Task A_bad_name_is_a_usage_error_and_a_taken_name_or_disk_file_is_refused()
    {
        var bad = await _site.CreateAsync("bad name!");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("VM name 'bad name!'", bad.Stderr, StringComparison.Ordinal);

        var missing = await _site.Cli.RunAsync("vm", "create", "--no-prompt");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("give the VM a NAME", missing.Stderr, StringComparison.Ordinal);

        await _site.CreateOkAsync("taken", "--disk-size", "8M");
        var again = await _site.CreateAsync("TAKEN", "--disk-size", "8M");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("a VM named 'TAKEN' already exists", again.Stderr, StringComparison.Ordinal);

        // A disk file that exists is never overwritten.
        var existing = Path.Combine(_site.Cli.DataFolder, "mine.img");
        await File.WriteAllTextAsync(existing, "precious");
        var clash = await _site.CreateAsync("other", "--disk-file", existing, "--disk-size", "8M");
        Assert.Equal(1, clash.ExitCode);
        Assert.Contains($"the disk file {existing} exists", clash.Stderr, StringComparison.Ordinal);
        Assert.Equal("precious", await File.ReadAllTextAsync(existing));
        Assert.Single((await _site.Cli.JsonAsync("vm", "list")).EnumerateArray());
    }

    [Fact]
    public async Task Without_qemu_create_and_start_say_what_to_install()
    {
        await _site.CreateOkAsync("later", "--disk-size", "8M");
        _site.Cli.Environment["STREAMBOOT_QEMU"] = "/nonexistent/qemu-system-x86_64";

        var create = await _site.CreateAsync("noqemu", "--disk-size", "8M");
        Assert.Equal(1, create.ExitCode);
        Assert.Contains("STREAMBOOT_QEMU=/nonexistent/qemu-system-x86_64 does not exist", create.Stderr, StringComparison.Ordinal);
        Assert.Contains("apt-get install qemu-system-x86", create.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_site.VmFolder("noqemu")));

        var start = await _site.Cli.RunAsync("vm", "start", "later");
        Assert.Equal(1, start.ExitCode);
        Assert.Contains("apt-get install qemu-system-x86", start.Stderr, StringComparison.Ordinal);
        Assert.Equal("stopped", (await _site.ShowAsync("later")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Kvm_is_used_where_it_works_and_otherwise_refused_when_asked_for_or_replaced_by_emulation_with_a_note()
    {
        var qemu = QemuSystem.Find() ?? throw new InvalidOperationException(QemuSystem.Missing());
        var kvm = await KvmProbe.ProbeAsync(qemu);
        await _site.CreateOkAsync("accel", "--disk-size", "8M", "--memory", "128", "--cores", "1");

        var bogus = await _site.Cli.RunAsync("vm", "start", "accel", "--accel", "hyperv");
        Assert.Equal(2, bogus.ExitCode);
        Assert.Contains("is not an accelerator", bogus.Stderr, StringComparison.Ordinal);

        var forced = await _site.Cli.RunAsync("vm", "start", "accel", "--accel", "kvm");
        if (kvm.Usable)
        {
            Assert.True(forced.ExitCode == 0, forced.ToString());
            Assert.Equal("kvm", (await _site.ShowAsync("accel")).GetProperty("accelerator").GetString());
        }
        else
        {
            Assert.Equal(1, forced.ExitCode);
            Assert.Contains("KVM is not usable", forced.Stderr, StringComparison.Ordinal);
            Assert.Contains("--accel tcg", forced.Stderr, StringComparison.Ordinal);
            Assert.Equal("stopped", (await _site.ShowAsync("accel")).GetProperty("state").GetString());

            var auto = await _site.Cli.RunAsync("vm", "start", "accel");
            Assert.True(auto.ExitCode == 0, auto.ToString());
            Assert.Contains("KVM is not usable here", auto.Stderr, StringComparison.Ordinal);
            Assert.Contains("running under plain emulation", auto.Stderr, StringComparison.Ordinal);
            Assert.Equal("tcg", (await _site.ShowAsync("accel")).GetProperty("accelerator").GetString());
        }
    }

    [Fact]
    public async Task What_a_running_or_diskless_vm_cannot_do_is_refused()
    {
        await _site.CreateOkAsync("busy", "--disk-size", "8M", "--memory", "128", "--cores", "1");
        await _site.CreateOkAsync("thin", "--network", "netboot", "--memory", "128", "--cores", "1");
        await _site.Cli.OkAsync("vm", "start", "busy", "--accel", "tcg");

        var twice = await _site.Cli.RunAsync("vm", "start", "busy", "--accel", "tcg");
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("is already running", twice.Stderr, StringComparison.Ordinal);

        var capture = await _site.Cli.RunAsync("vm", "capture", "busy", "--vdisk", "golden");
        Assert.Equal(1, capture.ExitCode);
        Assert.Contains("is running; shut it down first", capture.Stderr, StringComparison.Ordinal);

        var diskless = await _site.Cli.RunAsync("vm", "capture", "thin", "--vdisk", "golden");
        Assert.Equal(1, diskless.ExitCode);
        Assert.Contains("is a diskless client: it has no disk to capture", diskless.Stderr, StringComparison.Ordinal);
        Assert.Empty((await _site.Cli.JsonAsync("vdisk", "list")).EnumerateArray());

        var unknown = await _site.Cli.RunAsync("vm", "start", "ghost");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no VM 'ghost'", unknown.Stderr, StringComparison.Ordinal);

        var console = await _site.Cli.RunAsync("vm", "console", "thin");
        Assert.Equal(1, console.ExitCode);
        Assert.Contains("VM thin is not running", console.Stderr, StringComparison.Ordinal);

        await _site.Cli.OkAsync("vm", "stop", "busy", "--hard");
        File.Delete(Path.Combine(_site.VmFolder("busy"), "busy.qcow2"));
        var gone = await _site.Cli.RunAsync("vm", "start", "busy", "--accel", "tcg");
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("busy.qcow2 is missing", gone.Stderr, StringComparison.Ordinal);
    }
}
