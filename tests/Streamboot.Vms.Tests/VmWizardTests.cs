using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// <c>streamboot vm create</c> in a terminal: the New Virtual Machine
/// wizard, answered key by key through tmux as a person would.
/// </summary>
public sealed class VmWizardTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _site.DisposeAsync().AsTask();

    [Fact]
    public async Task The_wizard_asks_each_question_shows_a_summary_and_makes_the_vm_it_showed()
    {
        var iso = await TestIso.PathAsync();
        var password = "wizard-" + Guid.NewGuid().ToString("N")[..10];
        _site.Track("wiz1");
        await using var terminal = await Tmux.StartAsync($"cd {Repository.Root} && ./streamboot --data {_site.Cli.DataFolder} vm create; echo WIZARD-EXIT=$?; sleep 600");

        // The launcher may build first: the first question can take a while.
        await terminal.WaitForAsync("Which type of configuration", TimeSpan.FromMinutes(5));
        await terminal.KeysAsync("Down", "Enter");                 // custom
        await terminal.WaitForAsync("Hardware compatibility");
        await terminal.KeysAsync("Enter");                         // q35, the first choice
        await terminal.WaitForAsync("Installer disc image file");
        await terminal.TypeLineAsync(iso);
        await terminal.WaitForAsync("Guest operating system");
        await terminal.KeysAsync("Enter");                         // linux
        await terminal.WaitForAsync("Version (");
        await terminal.TypeLineAsync("testiso");
        await terminal.WaitForAsync("Use easy install");
        await terminal.KeysAsync("Enter");                         // yes: an ISO was given
        await terminal.WaitForAsync("Full name:");
        await terminal.TypeLineAsync("Bob Builder");
        await terminal.WaitForAsync("User name:");
        await terminal.TypeLineAsync("bob");
        await terminal.WaitForAsync("Password:");
        await terminal.TypeLineAsync(password);
        await terminal.WaitForAsync("Confirm password:");
        await terminal.TypeLineAsync(password);
        await terminal.WaitForAsync("Virtual machine name:");
        await terminal.TypeLineAsync("wiz1");
        await terminal.WaitForAsync("Location (folder");
        await terminal.KeysAsync("Enter");
        await terminal.WaitForAsync("Host name of the guest:");
        await terminal.TypeLineAsync("bobs-box");
        await terminal.WaitForAsync("Firmware type:");
        await terminal.KeysAsync("Enter");                         // bios
        await terminal.WaitForAsync("Number of processors (sockets):");
        await terminal.KeysAsync("Enter");                         // 1
        await terminal.WaitForAsync("Number of cores per processor:");
        await terminal.TypeLineAsync("1");
        await terminal.WaitForAsync("Memory for this virtual machine");
        await terminal.TypeLineAsync("256");
        await terminal.WaitForAsync("Network connection:");
        await terminal.KeysAsync("Enter");                         // NAT
        await terminal.WaitForAsync("I/O controller and disk type:");
        await terminal.KeysAsync("Down", "Down", "Down", "Enter"); // virtio-blk, virtio-scsi, sata, nvme
        await terminal.WaitForAsync("Disk:");
        await terminal.KeysAsync("Enter");                         // a new virtual disk
        await terminal.WaitForAsync("Maximum disk size");
        await terminal.TypeLineAsync("64M");
        await terminal.WaitForAsync("Disk format:");
        await terminal.KeysAsync("Enter");                         // qcow2
        await terminal.WaitForAsync("Disk space:");
        await terminal.KeysAsync("Down", "Enter");                 // preallocated
        await terminal.WaitForAsync("Disk file:");
        await terminal.KeysAsync("Enter");
        await terminal.WaitForAsync("Customize hardware (");
        await terminal.TypeLineAsync("y");
        await terminal.WaitForAsync("Customize hardware:");
        await terminal.KeysAsync("Down", "Enter");                 // add a hard disk
        await terminal.WaitForAsync("Size of the new disk");
        await terminal.TypeLineAsync("16M");
        await terminal.WaitForAsync("Its disk type:");
        await terminal.KeysAsync("Down", "Enter");                 // virtio-scsi
        await terminal.WaitForAsync("Added disk:");
        await terminal.WaitForAsync("Customize hardware:");        // the menu again (each choice erases it)
        await terminal.KeysAsync("Down", "Down", "Enter");         // add a network adapter
        await terminal.WaitForAsync("Its connection:");
        await terminal.KeysAsync("Enter");                         // nat
        await terminal.WaitForAsync("Added network adapter:");
        await terminal.WaitForAsync("Customize hardware:");
        await terminal.KeysAsync("Down", "Down", "Down", "Enter"); // sound card
        await terminal.WaitForAsync("Sound card:");
        await terminal.KeysAsync("Down", "Enter");                 // hda
        await terminal.WaitForAsync("Sound card: hda");
        await terminal.WaitForAsync("Customize hardware:");
        await terminal.KeysAsync("Down", "Down", "Down", "Down", "Down", "Down", "Enter"); // serial ports
        await terminal.WaitForAsync("Serial ports (1 to 4");
        await terminal.TypeLineAsync("2");
        await terminal.WaitForAsync("the first is the console): (1): 2");
        await terminal.WaitForAsync("Customize hardware:");
        await terminal.KeysAsync("Enter");                         // done
        var summary = await terminal.WaitForAsync("Create this virtual machine?");

        Assert.Contains("Ready to create the virtual machine", summary, StringComparison.Ordinal);
        Assert.Contains("16 MiB qcow2 on virtio-scsi, sparse", summary, StringComparison.Ordinal);
        Assert.Contains("NAT (QEMU user networking), MAC 52:54:00:", summary, StringComparison.Ordinal);
        Assert.Contains("Intel HD Audio", summary, StringComparison.Ordinal);
        Assert.Contains("2 (the console, then serial1.sock", summary, StringComparison.Ordinal);
        Assert.Contains("Bob Builder (bob), host name bobs-box", summary, StringComparison.Ordinal);
        Assert.Contains("1 socket(s) x 1 core(s) = 1", summary, StringComparison.Ordinal);
        Assert.Contains("256 MiB", summary, StringComparison.Ordinal);
        Assert.Contains("64 MiB qcow2 on nvme, preallocated", summary, StringComparison.Ordinal);
        await terminal.TypeLineAsync("y");
        var screen = await terminal.WaitForAsync("WIZARD-EXIT=", TimeSpan.FromMinutes(2));
        Assert.Contains("WIZARD-EXIT=0", screen, StringComparison.Ordinal);
        Assert.Contains("Created VM wiz1", screen, StringComparison.Ordinal);
        Assert.DoesNotContain(password, screen, StringComparison.Ordinal);

        var vm = await _site.ShowAsync("wiz1");
        Assert.Equal("q35", vm.GetProperty("machineType").GetString());
        Assert.Equal("testiso", vm.GetProperty("guestOsVersion").GetString());
        Assert.Equal(iso, vm.GetProperty("installerIso").GetString());
        Assert.Equal("bob", vm.GetProperty("userName").GetString());
        Assert.Equal("Bob Builder", vm.GetProperty("fullName").GetString());
        Assert.Equal("bobs-box", vm.GetProperty("hostName").GetString());
        Assert.Equal(1, vm.GetProperty("sockets").GetInt32());
        Assert.Equal(1, vm.GetProperty("coresPerSocket").GetInt32());
        Assert.Equal(256, vm.GetProperty("memoryMiB").GetInt32());
        Assert.Equal(64L << 20, vm.GetProperty("diskSizeBytes").GetInt64());
        Assert.True(vm.GetProperty("diskPreallocated").GetBoolean());
        Assert.Equal("bios", vm.GetProperty("firmware").GetString());
        Assert.Equal("nat", vm.GetProperty("network").GetString());
        Assert.Equal("nvme", vm.GetProperty("diskBus").GetString());
        var hardware = vm.GetProperty("hardware");
        Assert.Equal((16L << 20, "virtio-scsi"), (hardware.GetProperty("disks")[0].GetProperty("sizeBytes").GetInt64(), hardware.GetProperty("disks")[0].GetProperty("bus").GetString()));
        Assert.Equal("nat", hardware.GetProperty("nics")[0].GetProperty("network").GetString());
        Assert.Equal("hda", hardware.GetProperty("sound").GetString());
        Assert.Equal(2, hardware.GetProperty("serialPorts").GetInt32());
        Assert.True(File.Exists(hardware.GetProperty("disks")[0].GetProperty("file").GetString()), "the added disk is made");

        // The password typed (and never shown) is what the seed's hash says.
        var files = await ExtractSeedAsync(vm.GetProperty("seedFile").GetString()!);
        var hash = File.ReadAllLines(Path.Combine(files, "user-data")).Single(l => l.TrimStart().StartsWith("passwd:", StringComparison.Ordinal)).Split('"')[1];
        Assert.Equal(await Seeds.PasswordHashTests.OpenSslAsync(password, hash.Split('$')[2]), hash);
        using var info = JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", vm.GetProperty("diskFile").GetString()!));
        Assert.True(info.RootElement.GetProperty("actual-size").GetInt64() >= 64L << 20, "preallocated");
    }

    [Fact]
    public async Task Flags_are_not_asked_again_and_no_at_the_summary_makes_nothing()
    {
        await using var terminal = await Tmux.StartAsync(
            $"cd {Repository.Root} && ./streamboot --data {_site.Cli.DataFolder} vm create nope --machine pc --guest-os other --os-version dos --firmware bios --sockets 1 --cores 1 --memory 64 --network none --disk-size 8M --disk-format raw; echo WIZARD-EXIT=$?; sleep 600");
        await terminal.WaitForAsync("Which type of configuration", TimeSpan.FromMinutes(5));
        await terminal.KeysAsync("Enter");                         // typical: the guest's defaults for the rest
        await terminal.WaitForAsync("Installer disc image file");
        await terminal.KeysAsync("Enter");                         // none: install later
        await terminal.WaitForAsync("Location (folder");
        await terminal.KeysAsync("Enter");
        await terminal.WaitForAsync("Customize hardware (");
        await terminal.KeysAsync("Enter");                         // no
        var summary = await terminal.WaitForAsync("Create this virtual machine?");
        Assert.DoesNotContain("Hardware compatibility (QEMU", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Use easy install", summary, StringComparison.Ordinal);
        Assert.Contains("none (install the OS later)", summary, StringComparison.Ordinal);
        Assert.Contains("8 MiB raw on ide, sparse", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Disk space:", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("I/O controller", summary, StringComparison.Ordinal);
        await terminal.TypeLineAsync("n");
        var screen = await terminal.WaitForAsync("WIZARD-EXIT=", TimeSpan.FromMinutes(1));

        Assert.Contains("Nothing was made.", screen, StringComparison.Ordinal);
        Assert.Contains("WIZARD-EXIT=1", screen, StringComparison.Ordinal);
        Assert.Empty((await _site.Cli.JsonAsync("vm", "list")).EnumerateArray());
        Assert.False(Directory.Exists(_site.VmFolder("nope")));
    }

    [Fact]
    public async Task An_existing_disk_chosen_in_the_wizard_is_attached_where_it_is()
    {
        var image = Path.Combine(_site.Cli.DataFolder, "golden.qcow2");
        await QemuImg.RunAsync("create", "-q", "-f", "qcow2", image, "12M");
        _site.Track("att1");
        await using var terminal = await Tmux.StartAsync(
            $"cd {Repository.Root} && ./streamboot --data {_site.Cli.DataFolder} vm create att1 --machine q35 --guest-os linux --os-version x --firmware bios --sockets 1 --cores 1 --memory 64 --network none --config custom; echo WIZARD-EXIT=$?; sleep 600");
        await terminal.WaitForAsync("Installer disc image file", TimeSpan.FromMinutes(5));
        await terminal.KeysAsync("Enter");                         // none
        await terminal.WaitForAsync("Use easy install");
        await terminal.KeysAsync("Enter");                         // no: nothing to install
        await terminal.WaitForAsync("Location (folder");
        await terminal.KeysAsync("Enter");
        await terminal.WaitForAsync("I/O controller and disk type:");
        await terminal.KeysAsync("Down", "Enter");                 // virtio-scsi
        await terminal.WaitForAsync("Disk:");
        await terminal.KeysAsync("Down", "Enter");                 // an existing virtual disk
        await terminal.WaitForAsync("Existing disk image file:");
        await terminal.TypeLineAsync(image + ".missing");
        await terminal.WaitForAsync("there is no file");           // asked again
        await terminal.TypeLineAsync(image);
        await terminal.WaitForAsync("Use it:");
        await terminal.KeysAsync("Down", "Enter");                 // attach
        await terminal.WaitForAsync("Customize hardware (");
        await terminal.KeysAsync("Enter");                         // no
        var summary = await terminal.WaitForAsync("Create this virtual machine?");
        Assert.Contains($"12 MiB qcow2 on virtio-scsi, the existing {image} used where it is", summary.Replace("\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        await terminal.TypeLineAsync("y");
        var screen = await terminal.WaitForAsync("WIZARD-EXIT=", TimeSpan.FromMinutes(2));
        Assert.Contains("WIZARD-EXIT=0", screen, StringComparison.Ordinal);

        var vm = await _site.ShowAsync("att1");
        Assert.Equal(image, vm.GetProperty("diskFile").GetString());
        Assert.True(vm.GetProperty("diskAttached").GetBoolean());
        Assert.Equal("virtio-scsi", vm.GetProperty("diskBus").GetString());
    }

    private async Task<string> ExtractSeedAsync(string seed)
    {
        var target = Path.Combine(_site.Cli.DataFolder, "seed-extracted");
        var result = await ProcessRunner.RunAsync("xorriso", ["-osirrox", "on", "-indev", seed, "-extract", "/", target]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return target;
    }
}
