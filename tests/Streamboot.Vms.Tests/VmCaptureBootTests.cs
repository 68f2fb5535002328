using System.Globalization;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// The golden-image workflow end to end: a VM installs an OS from an ISO,
/// its disk is captured as a vDisk, and a diskless VM boots that vDisk from
/// the server under the name the server gave it; a later capture adds a
/// version holding only what changed.
/// </summary>
public sealed class VmCaptureBootTests : IAsyncLifetime
{
    private const string UpLine = "STREAMBOOT-TEST-OS up:";
    private readonly VmSite _site = new();
    private ServerProcess? _server;

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _site.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_installed_vm_is_captured_and_a_diskless_vm_boots_it_from_the_server_as_its_device()
    {
        var iso = await TestIso.PathAsync();
        await _site.CreateOkAsync("golden-vm", "--iso", iso, "--disk-size", "96M", "--memory", "256", "--cores", "1");
        var install = await _site.Cli.RunAsync("vm", "start", "golden-vm", "--wait-for", TestIso.Ready, "--timeout", "300");
        Assert.True(install.ExitCode == 0, install + "\n" + _site.Console("golden-vm"));
        Assert.Contains(TestIso.Installed, _site.Console("golden-vm"), StringComparison.Ordinal);
        await _site.Cli.OkAsync("vm", "stop", "golden-vm");

        var capture = await _site.Cli.RunAsync("vm", "capture", "golden-vm", "--vdisk", "golden");
        Assert.True(capture.ExitCode == 0, capture.ToString());
        Assert.Contains("Captured VM golden-vm as vDisk golden", capture.Stdout, StringComparison.Ordinal);
        var vmDisk = Path.Combine(_site.VmFolder("golden-vm"), "golden-vm.qcow2");
        var golden = await _site.Cli.JsonAsync("vdisk", "show", "golden");
        var baseFile = Path.Combine(golden.GetProperty("storePath").GetString()!, golden.GetProperty("versions")[0].GetProperty("file").GetString()!);
        await QemuImg.RunAsync("compare", baseFile, vmDisk);

        // A diskless client VM, registered as a device of a collection.
        await _site.Cli.OkAsync("collection", "add", "lab", "--pattern", "LAB-###");
        await _site.CreateOkAsync("client", "--network", "netboot", "--collection", "lab", "--memory", "256", "--cores", "1");
        var client = await _site.ShowAsync("client");
        Assert.Equal("LAB-001", client.GetProperty("device").GetString());
        Assert.Equal(JsonValueKind.Null, client.GetProperty("diskFile").ValueKind);
        await _site.Cli.OkAsync("assign", "LAB-001", "golden");

        // The server on loopback; QEMU's NAT takes the VM to it (10.0.2.2 is the host).
        var http = Ports.Free();
        var nbd = Ports.Free();
        _server = ServerProcess.Start(["--data", _site.Cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", nbd.ToString(CultureInfo.InvariantCulture)]);
        using (await _server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(3)))
        {
        }

        var boot = await _site.Cli.RunAsync("vm", "start", "client", "--wait-for", UpLine, "--timeout", "300");
        Assert.True(boot.ExitCode == 0, boot + "\n" + _site.Console("client") + "\n" + _server.Output);

        var up = _site.Fields("client", UpLine);
        var device = await _site.Cli.JsonAsync("device", "show", "LAB-001");
        Assert.Equal("LAB-001", up["hostname"]);
        Assert.Equal(device.GetProperty("machineId").GetString()!.Replace("-", "", StringComparison.Ordinal), up["machine-id"]);
        Assert.Equal("golden/LAB-001", up["export"]);
        Assert.StartsWith("/dev/nbd0", up["root"], StringComparison.Ordinal);
        var sessions = await _site.Cli.JsonAsync("session", "list");
        Assert.Contains(sessions.EnumerateArray(), s => s.GetProperty("device").GetString() == "LAB-001" && s.GetProperty("vDisk").GetString() == "golden");
        await _site.Cli.OkAsync("vm", "stop", "client", "--hard");

        // The admin changes the golden VM's disk (here with qemu-io, as an
        // update inside it would) and captures it as the next version.
        await QemuImg.IoAsync("qcow2", vmDisk, "write -P 0x5a 90M 192k");
        var version = await _site.Cli.RunAsync("vm", "capture", "golden-vm", "--vdisk", "golden", "--new-version", "--stage", "production");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Contains("as version 2 of vDisk golden (production)", version.Stdout, StringComparison.Ordinal);
        golden = await _site.Cli.JsonAsync("vdisk", "show", "golden");
        var versions = golden.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(2, versions.Count);
        Assert.Equal("production", versions[1].GetProperty("stage").GetString());
        var top = Path.Combine(golden.GetProperty("storePath").GetString()!, versions[1].GetProperty("file").GetString()!);
        await QemuImg.RunAsync("compare", top, vmDisk);
        // The version holds the change, not a copy of the disk.
        Assert.InRange(new FileInfo(top).Length, 1, 2L << 20);
        await QemuImg.RunAsync("check", top);
    }
}
