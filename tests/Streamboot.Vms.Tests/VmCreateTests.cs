using System.Text;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// <c>streamboot vm create</c> with flags, then <c>vm start --wait-for</c>:
/// the guest (the test installer ISO) reports what it was given.
/// </summary>
public sealed class VmCreateTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _site.DisposeAsync().AsTask();

    [Fact]
    public async Task Easy_install_by_flags_gives_the_guest_its_user_host_name_processors_memory_and_disk()
    {
        var iso = await TestIso.PathAsync();
        var password = "correct horse battery " + Guid.NewGuid().ToString("N")[..8];
        var passwordFile = Path.Combine(_site.Cli.DataFolder, "password.txt");
        await File.WriteAllTextAsync(passwordFile, password + "\n");

        await _site.CreateOkAsync(
            "lab1",
            "--iso", iso, "--guest-os", "linux", "--os-version", "testiso",
            "--user", "alice", "--full-name", "Alice Example", "--password-file", passwordFile, "--hostname", "lab-alice",
            "--sockets", "2", "--cores", "1", "--memory", "384", "--disk-size", "64M");
        var start = await _site.Cli.RunAsync("vm", "start", "lab1", "--wait-for", TestIso.Ready, "--timeout", "240");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("lab1"));
        Assert.Contains($"The console shows '{TestIso.Ready}'", start.Stdout, StringComparison.Ordinal);

        var seed = _site.Fields("lab1", "TESTISO seed: user=");
        Assert.Equal("Alice Example", seed["fullname"]);
        Assert.Equal("lab-alice", seed["hostname"]);
        Assert.Equal("cidata", seed["label"]);
        Assert.StartsWith("TESTISO seed: user=alice ", _site.Console("lab1").Split('\n').First(l => l.StartsWith("TESTISO seed: user=", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("TESTISO seed: password is a sha512-crypt hash", _site.Console("lab1"), StringComparison.Ordinal);
        var hardware = _site.Fields("lab1", "TESTISO hardware:");
        Assert.Equal("2", hardware["cpus"]);
        // The kernel keeps some memory for itself: MemTotal is a little under what the VM has.
        Assert.InRange(long.Parse(hardware["mem_kib"], System.Globalization.CultureInfo.InvariantCulture), 300 * 1024, 384 * 1024);
        Assert.Equal("vda", hardware["disk"]);
        Assert.Equal((64L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), hardware["disk_bytes"]);

        var disk = Path.Combine(_site.VmFolder("lab1"), "lab1.qcow2");
        using (var info = JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", disk, "-U")))
        {
            Assert.Equal("qcow2", info.RootElement.GetProperty("format").GetString());
            Assert.Equal(64L << 20, info.RootElement.GetProperty("virtual-size").GetInt64());
        }

        var shown = await _site.ShowAsync("lab1");
        Assert.Equal("running", shown.GetProperty("state").GetString());
        Assert.True(shown.GetProperty("pid").GetInt32() > 0);
        Assert.StartsWith("127.0.0.1:", shown.GetProperty("screen").GetString(), StringComparison.Ordinal);

        // The ACPI power button: the guest powers itself off.
        var stop = await _site.Cli.RunAsync("vm", "stop", "lab1", "--timeout", "60");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains("VM lab1 shut down", stop.Stdout, StringComparison.Ordinal);
        Assert.Contains("TESTISO power button", _site.Console("lab1"), StringComparison.Ordinal);
        Assert.Equal("stopped", (await _site.ShowAsync("lab1")).GetProperty("state").GetString());

        // The password went into the seed as a hash and nowhere else: not the
        // database, not the audit log, not any file of the site.
        var audit = await _site.Cli.OkAsync("audit", "list", "--json");
        Assert.DoesNotContain(password, audit.Stdout, StringComparison.Ordinal);
        Assert.Contains("vm.create", audit.Stdout, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_site.Cli.DataFolder, "*", SearchOption.AllDirectories).Where(f => f != passwordFile && !f.EndsWith(".sock", StringComparison.Ordinal)))
        {
            Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.UTF8.GetBytes(password)) < 0, $"{file} holds the password");
        }
    }

    [Fact]
    public async Task A_preallocated_raw_disk_on_the_i440fx_with_uefi_and_a_guest_that_ignores_the_power_button()
    {
        await _site.CreateOkAsync("uefi1", "--machine", "pc", "--firmware", "uefi", "--disk-format", "raw", "--preallocate", "--disk-size", "32M", "--memory", "256", "--cores", "1");
        var disk = Path.Combine(_site.VmFolder("uefi1"), "uefi1.raw");
        using (var info = JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", disk)))
        {
            Assert.Equal("raw", info.RootElement.GetProperty("format").GetString());
            Assert.Equal(32L << 20, info.RootElement.GetProperty("virtual-size").GetInt64());
            Assert.True(info.RootElement.GetProperty("actual-size").GetInt64() >= 32L << 20, "every block is reserved");
        }

        Assert.True(File.Exists(Path.Combine(_site.VmFolder("uefi1"), "OVMF_VARS.fd")), "the VM has its own UEFI variable store");

        // No OS: OVMF's boot manager runs and finds nothing to boot.
        var start = await _site.Cli.RunAsync("vm", "start", "uefi1", "--wait-for", "BdsDxe", "--timeout", "180");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("uefi1"));
        var shown = await _site.ShowAsync("uefi1");
        Assert.Equal("uefi", shown.GetProperty("firmware").GetString());
        Assert.Equal("pc", shown.GetProperty("machineType").GetString());

        // A text that never comes: exit 1, the VM still runs, the console's tail is shown.
        var wait = await _site.Cli.RunAsync("vm", "start", "uefi1", "--wait-for", "never printed", "--timeout", "3");
        Assert.Equal(1, wait.ExitCode);
        Assert.Contains("already running", wait.Stderr, StringComparison.Ordinal);

        // Firmware with no OS does not act on the power button: a hard stop after the timeout.
        var stop = await _site.Cli.RunAsync("vm", "stop", "uefi1", "--timeout", "2");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains("did not shut down in 2 s; stopped it hard", stop.Stdout, StringComparison.Ordinal);
        Assert.Equal("stopped", (await _site.ShowAsync("uefi1")).GetProperty("state").GetString());
        Assert.False(File.Exists(Path.Combine(_site.VmFolder("uefi1"), "qemu.pid")));
    }

    [Fact]
    public async Task Waiting_for_text_that_never_comes_exits_1_with_the_consoles_tail_and_list_and_delete_follow_the_vm()
    {
        await _site.CreateOkAsync("idle1", "--disk-size", "8M", "--memory", "128", "--cores", "1");
        var start = await _site.Cli.RunAsync("vm", "start", "idle1", "--wait-for", "never printed", "--timeout", "20");
        Assert.Equal(1, start.ExitCode);
        Assert.Contains("did not show 'never printed' in 20 s (it is still running", start.Stderr, StringComparison.Ordinal);
        // SeaBIOS's messages reach the serial console (sercon), so the tail shows why.
        Assert.Contains("Boot failed", start.Stderr + _site.Console("idle1"), StringComparison.Ordinal);

        var list = await _site.Cli.JsonAsync("vm", "list");
        Assert.Equal("running", list.EnumerateArray().Single().GetProperty("state").GetString());
        var refused = await _site.Cli.RunAsync("vm", "delete", "idle1");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("is running", refused.Stderr, StringComparison.Ordinal);

        await _site.Cli.OkAsync("vm", "stop", "idle1", "--hard");
        await _site.Cli.OkAsync("vm", "delete", "idle1");
        Assert.False(Directory.Exists(_site.VmFolder("idle1")), "delete removes the VM's files");
        Assert.Empty((await _site.Cli.JsonAsync("vm", "list")).EnumerateArray());
    }
}
