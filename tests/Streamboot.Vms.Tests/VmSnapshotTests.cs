using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Streamboot.Testing;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests;

/// <summary>
/// <c>vm snapshot VM take|list|revert|delete</c>: on a stopped VM the
/// disk's own (qemu-img, checked block by block with qemu-io), on a running
/// one QEMU's jobs with the memory state, checked inside the guest: a file
/// in its RAM comes back with the revert.
/// </summary>
public sealed class VmSnapshotTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _site.DisposeAsync().AsTask();

    [Fact]
    public async Task A_running_guest_reverted_to_its_snapshot_has_its_memory_back_and_runs_on()
    {
        var iso = await TestIso.PathAsync();
        await _site.CreateOkAsync("live1", "--iso", iso, "--disk-size", "32M", "--memory", "192", "--cores", "1");
        var start = await _site.Cli.RunAsync("vm", "start", "live1", "--accel", "tcg", "--wait-for", TestIso.Ready, "--timeout", "240");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("live1"));

        // A file in the guest's RAM (the installer's root is its initramfs).
        await TypeAsync("live1", "echo kept > /flag && echo FLAG-$((40+1))-written", "FLAG-41-written");
        var take = await _site.Cli.OkAsync("vm", "snapshot", "live1", "take", "booted");
        Assert.Contains("Took snapshot booted of VM live1 with its memory (", take.Stdout, StringComparison.Ordinal);

        var list = (await _site.Cli.JsonAsync("vm", "snapshot", "live1", "list")).EnumerateArray().Single();
        Assert.Equal("booted", list.GetProperty("name").GetString());
        Assert.True(list.GetProperty("memory").GetBoolean());
        Assert.True(list.GetProperty("memoryBytes").GetInt64() > 1 << 20, "the memory state is in the disk");
        // QEMU's own view: the snapshot is in the disk it has open, with its vmstate.
        var inQemu = (await QmpAsync("live1", "query-block"))!.AsArray().Single(b => b!["device"]!.GetValue<string>() == "disk0")!["inserted"]!["image"]!["snapshots"]!.AsArray().Single();
        Assert.Equal("booted", inQemu!["name"]!.GetValue<string>());
        Assert.True(inQemu["vm-state-size"]!.GetValue<long>() > 0);

        await TypeAsync("live1", "rm /flag && echo FLAG-$((40+2))-removed", "FLAG-42-removed");
        var revert = await _site.Cli.OkAsync("vm", "snapshot", "live1", "revert", "booted");
        Assert.Contains("VM live1 is back at snapshot booted, running from where it was.", revert.Stdout, StringComparison.Ordinal);
        Assert.Equal("running", (await QmpAsync("live1", "query-status"))!["status"]!.GetValue<string>());
        await TypeAsync("live1", "cat /flag && echo FLAG-$((40+3))-back", "FLAG-43-back");

        // Deleted while it runs: QEMU's snapshot-delete job.
        var delete = await _site.Cli.OkAsync("vm", "snapshot", "live1", "delete", "booted");
        Assert.Contains("Deleted snapshot booted of VM live1.", delete.Stdout, StringComparison.Ordinal);
        Assert.Empty((await _site.Cli.JsonAsync("vm", "snapshot", "live1", "list")).EnumerateArray());
        var audit = (await _site.Cli.OkAsync("audit", "list", "--json")).Stdout;
        Assert.Contains("vm.snapshot.take", audit, StringComparison.Ordinal);
        Assert.Contains("vm.snapshot.revert", audit, StringComparison.Ordinal);
        Assert.Contains("vm.snapshot.delete", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_vms_snapshots_are_its_disks_and_what_cannot_be_is_refused_clearly()
    {
        await _site.CreateOkAsync("disk1", "--disk-size", "8M", "--memory", "128", "--cores", "1", "--network", "none");
        var disk = Path.Combine(_site.VmFolder("disk1"), "disk1.qcow2");

        var clean = await _site.Cli.OkAsync("vm", "snapshot", "disk1", "take", "clean");
        Assert.Contains("Took snapshot clean of VM disk1 (disk only).", clean.Stdout, StringComparison.Ordinal);
        Assert.Contains("note: the VM is stopped: the snapshot holds its disk only", clean.Stderr, StringComparison.Ordinal);
        await QemuImg.IoAsync("qcow2", disk, "write -P 0x5a 0 64k");
        await _site.Cli.OkAsync("vm", "snapshot", "disk1", "take", "dirty");
        var list = (await _site.Cli.JsonAsync("vm", "snapshot", "disk1", "list")).EnumerateArray().ToList();
        Assert.Equal(["clean", "dirty"], list.Select(s => s.GetProperty("name").GetString()));
        Assert.All(list, s => Assert.False(s.GetProperty("memory").GetBoolean()));

        // qemu-io fails when the bytes are not the pattern: each revert puts the disk back.
        await _site.Cli.OkAsync("vm", "snapshot", "disk1", "revert", "clean");
        await QemuImg.IoAsync("qcow2", disk, "read -P 0 0 64k");
        await _site.Cli.OkAsync("vm", "snapshot", "disk1", "revert", "dirty");
        await QemuImg.IoAsync("qcow2", disk, "read -P 0x5a 0 64k");
        await _site.Cli.OkAsync("vm", "snapshot", "disk1", "delete", "clean");
        Assert.Contains("dirty", await QemuImg.RunAsync("snapshot", "-l", disk), StringComparison.Ordinal);
        Assert.DoesNotContain("clean", await QemuImg.RunAsync("snapshot", "-l", disk), StringComparison.Ordinal);

        await Refused(1, "VM 'disk1' has a snapshot 'dirty' already; delete it first", "disk1", "take", "dirty");
        await Refused(2, "is a bare number, which qcow2 takes for a snapshot's id", "disk1", "take", "123");
        await Refused(2, "is not valid: letters, digits", "disk1", "take", "a/b");
        await Refused(1, "VM 'disk1' has no snapshot 'gone'", "disk1", "revert", "gone");
        await Refused(2, "needs the snapshot's name", "disk1", "take");
        await Refused(2, "takes no snapshot name", "disk1", "list", "x");

        // A disk-only snapshot has no memory to resume a running VM with.
        await _site.Cli.OkAsync("vm", "start", "disk1", "--accel", "tcg");
        Assert.Equal("dirty", (await _site.Cli.JsonAsync("vm", "snapshot", "disk1", "list")).EnumerateArray().Single().GetProperty("name").GetString());
        await Refused(1, "snapshot 'dirty' was taken while VM 'disk1' was stopped: it holds no memory state to resume; stop the VM", "disk1", "revert", "dirty");
        await _site.Cli.OkAsync("vm", "stop", "disk1", "--hard");

        await _site.CreateOkAsync("raw1", "--disk-size", "8M", "--disk-format", "raw", "--network", "none");
        await Refused(1, "VM 'raw1' has a raw disk", "raw1", "take", "s1");
        await _site.CreateOkAsync("thin1", "--network", "netboot", "--memory", "128", "--cores", "1");
        await Refused(1, "VM 'thin1' is a diskless client: it has no disk to snapshot", "thin1", "list");
    }

    private async Task Refused(int exitCode, string message, params string[] arguments)
    {
        var result = await _site.Cli.RunAsync(["vm", "snapshot", .. arguments]);
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Types a line on the VM's serial console and waits for what only its output (not its echo) shows.</summary>
    private async Task TypeAsync(string vm, string line, string expected)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(_site.VmFolder(vm), "console.sock")));
        await socket.SendAsync(Encoding.ASCII.GetBytes(line + "\n"));
        var folder = new VmFolder(_site.VmFolder(vm));
        var seen = await VmRuntime.WaitForConsoleAsync(folder, expected, TimeSpan.FromSeconds(60));
        Assert.True(seen == VmWaitOutcome.Seen, $"{expected} not seen ({seen}):\n{_site.Console(vm)}");
    }

    private async Task<JsonNode?> QmpAsync(string vm, string command)
    {
        await using var qmp = await QmpClient.ConnectAsync(Path.Combine(_site.VmFolder(vm), "qmp.sock"));
        return await qmp.ExecuteAsync(command);
    }
}
