using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// A diskless VM bridged onto a boot network, as on a real site: PXE from
/// Streamboot's own DHCP and TFTP, then the boot script, then the vDisk.
/// The network is a namespace with a bridge; <c>vm start</c> runs inside it,
/// so QEMU makes its tap there and puts it on the bridge.
/// </summary>
public sealed class VmBridgeBootTests : IAsyncLifetime
{
    private const string UpLine = "STREAMBOOT-TEST-OS up:";
    private readonly VmSite _site = new();
    private BootNetwork? _network;
    private ServerProcess? _server;

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_network is not null)
        {
            // vm stop inside the namespace; then the namespace goes.
            await _network.ExecAsync(Repository.Launcher, "--data", _site.Cli.DataFolder, "vm", "stop", "pxe-client", "--hard");
        }

        await _site.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_bridged_netboot_vm_pxe_boots_the_vdisk_from_streamboots_own_dhcp_and_tftp()
    {
        await TestIso.PathAsync();
        _network = await BootNetwork.CreateAsync();
        await _site.Cli.OkAsync("vdisk", "import", "golden", Path.Combine(TestIso.TestOsFolder, "disk.img"), "--format", "raw");
        await _site.Cli.OkAsync("collection", "add", "lab", "--pattern", "PXE-##", "--default-vdisk", "golden");
        await _site.CreateOkAsync("pxe-client", "--network", "netboot", "--bridge", _network.Bridge, "--collection", "lab", "--memory", "256", "--cores", "1");
        var device = (await _site.ShowAsync("pxe-client")).GetProperty("device").GetString()!;
        Assert.Equal("PXE-01", device);
        // The collection's default vDisk is assigned to every new device of it.
        Assert.Equal("golden", (await _site.Cli.JsonAsync("device", "show", device)).GetProperty("assignments")[0].GetProperty("vdisk").GetString());

        _server = ServerProcess.StartIn(
            _network.Name,
            ["--data", _site.Cli.DataFolder, "--bind", "0.0.0.0", "--http-port", "8080", "--nbd-port", "10809",
             "--dhcp", "full", "--dhcp-interface", _network.Bridge, "--dhcp-range", $"{_network.Prefix}.100-{_network.Prefix}.199"]);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while ((await _network.ExecAsync("curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:8080/healthz")).ExitCode != 0)
        {
            Assert.False(_server.HasExited, _server.Output);
            Assert.True(DateTime.UtcNow < deadline, "serve did not answer:\n" + _server.Output);
            await Task.Delay(250);
        }

        var start = await _network.ExecAsync(Repository.Launcher, "--data", _site.Cli.DataFolder, "vm", "start", "pxe-client", "--wait-for", UpLine, "--timeout", "300");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("pxe-client") + "\n" + _server.Output);

        var up = _site.Fields("pxe-client", UpLine);
        Assert.Equal("PXE-01", up["hostname"]);
        Assert.Equal("golden/PXE-01", up["export"]);
        // The VM's card sat on the bridge: the server leased it an address.
        var leases = await _site.Cli.JsonAsync("dhcp", "leases");
        Assert.Contains(leases.EnumerateArray(), l => l.GetProperty("device").GetString() == "PXE-01" && l.GetProperty("address").GetString()!.StartsWith(_network.Prefix + ".1", StringComparison.Ordinal));
        // QEMU made the tap and it went with QEMU.
        var stop = await _network.ExecAsync(Repository.Launcher, "--data", _site.Cli.DataFolder, "vm", "stop", "pxe-client", "--hard");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        var links = await _network.ExecAsync("ip", "-o", "link", "show", "master", _network.Bridge);
        Assert.DoesNotContain("sbvm", links.Stdout, StringComparison.Ordinal);
    }
}
