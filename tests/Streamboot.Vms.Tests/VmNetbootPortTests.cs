using System.Globalization;
using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// A NAT netboot VM boots from the server that runs, on the port it runs on,
/// not from the configured default: its iPXE reaches the running serve.
/// </summary>
public sealed class VmNetbootPortTests : IAsyncLifetime
{
    private readonly VmSite _site = new();
    private ServerProcess? _server;

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
    public async Task A_nat_netboot_vm_boots_from_the_port_the_running_server_listens_on()
    {
        await _site.Cli.OkAsync("collection", "add", "lab", "--pattern", "NAT-##");
        await _site.CreateOkAsync("natpc", "--network", "netboot", "--collection", "lab", "--memory", "256", "--cores", "1");
        var mac = (await _site.ShowAsync("natpc")).GetProperty("mac").GetString()!;

        // Not 8080: the VM must be sent where serve really listens.
        var http = Ports.Free();
        _server = ServerProcess.Start(["--data", _site.Cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture)]);
        using (await _server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(3)))
        {
        }

        var start = await _site.Cli.RunAsync("vm", "start", "natpc");
        Assert.True(start.ExitCode == 0, start.ToString());
        Assert.Contains($"It boots from http://10.0.2.2:{http}/boot.ipxe (the running server", start.Stdout, StringComparison.Ordinal);

        // Its iPXE asks this server for its boot script (NAT-01 has no vDisk yet: a refusal, logged).
        await _server.WaitForOutputAsync($"Boot: refused {mac}", TimeSpan.FromMinutes(3));
    }

    [Fact]
    public async Task Several_running_servers_on_different_ports_must_be_chosen_between()
    {
        await _site.CreateOkAsync("natpc2", "--network", "netboot", "--memory", "256", "--cores", "1");
        var ports = new[] { Ports.Free(), Ports.Free() };
        await using var a = ServerProcess.Start(["--data", _site.Cli.DataFolder, "--bind", "127.0.0.1", "--server-name", "a", "--http-port", ports[0].ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture)]);
        await using var b = ServerProcess.Start(["--data", _site.Cli.DataFolder, "--bind", "127.0.0.1", "--server-name", "b", "--http-port", ports[1].ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture)]);
        using (await a.WaitForHttpAsync($"http://127.0.0.1:{ports[0]}/healthz", TimeSpan.FromMinutes(3)))
        using (await b.WaitForHttpAsync($"http://127.0.0.1:{ports[1]}/healthz", TimeSpan.FromMinutes(3)))
        {
        }

        var refused = await _site.Cli.RunAsync("vm", "start", "natpc2");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("choose the one the VM boots from with --server-port PORT", refused.Stderr, StringComparison.Ordinal);

        var chosen = await _site.Cli.RunAsync("vm", "start", "natpc2", "--server-port", ports[1].ToString(CultureInfo.InvariantCulture));
        Assert.True(chosen.ExitCode == 0, chosen.ToString());
        Assert.Contains($"It boots from http://10.0.2.2:{ports[1]}/boot.ipxe (--server-port", chosen.Stdout, StringComparison.Ordinal);
        await b.WaitForOutputAsync("Boot: ", TimeSpan.FromMinutes(3));
    }
}
