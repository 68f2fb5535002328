using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Views;
using Streamboot.Vms;
using Streamboot.Vms.Qemu;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    /// <summary>
    /// Starts a VM. <paramref name="accelerator"/> is auto, kvm or tcg;
    /// <paramref name="server"/> says which server's HTTP port a netboot VM
    /// behind QEMU's NAT reaches on the NAT's host address (the result's
    /// <see cref="NetbootTarget"/>; null for other VMs).
    /// </summary>
    public async Task<AdminResult<(VmView View, VmStartResult Start, NetbootTarget? Netboot)>> StartAsync(string name, string? accelerator, NetbootServer server, CancellationToken cancellationToken = default)
    {
        var accel = Accelerator.Auto;
        if (accelerator is not null)
        {
            var text = accelerator.Trim();
            if (text.Length == 0 || char.IsDigit(text[0]) || !Enum.TryParse(text, ignoreCase: true, out accel) || !Enum.IsDefined(accel))
            {
                return AdminError.Invalid($"'{accelerator}' is not an accelerator; use auto (KVM when it works), kvm or tcg (plain emulation)");
            }
        }

        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vm = found.Value;
        NetbootTarget? netboot = null;
        if (vm.Network == VmNetworkMode.Netboot && vm.Bridge is null)
        {
            var target = await NetbootTargetAsync(db, server, cancellationToken);
            if (!target.Ok)
            {
                return target.Error;
            }

            netboot = target.Value;
        }

        var folder = new VmFolder(vm.Folder);
        if (!Directory.Exists(folder.Path))
        {
            return AdminError.Failed($"the VM's folder {folder.Path} is missing");
        }

        var started = await VmRuntime.StartAsync(Hardware(vm, netboot?.Url), folder, accel, cancellationToken);
        if (!started.Ok)
        {
            return started.AlreadyRunning ? AdminError.Refused(started.Error!) : AdminError.Failed(started.Error!);
        }

        site.Audit(db, "vm.start", vm.Name, new { accelerator = AcceleratorName(started.Accelerator), started.Pid, netboot = netboot?.Url });
        await db.SaveChangesAsync(cancellationToken);
        return (ToView(vm, null), started, netboot);
    }

    /// <summary>
    /// The port a NAT netboot VM boots from: the one asked for; else that of
    /// the site's running server (one running server is the only choice;
    /// several on different ports must be chosen between); else the
    /// configured port, which a server started later would listen on.
    /// </summary>
    private async Task<AdminResult<NetbootTarget>> NetbootTargetAsync(Data.StreambootDbContext db, NetbootServer server, CancellationToken cancellationToken)
    {
        if (server.Port is { } chosen)
        {
            if (chosen is < 1 or > 65535)
            {
                return AdminError.Invalid($"--server-port {chosen.ToString(CultureInfo.InvariantCulture)} is out of range; use 1-65535");
            }

            return Target(chosen, "--server-port");
        }

        var now = site.UtcNow;
        var rows = await db.Servers.AsNoTracking().ToListAsync(cancellationToken);
        var running = rows.Where(r => ServerLiveness.StateOf(r, now, server.Heartbeat) == Views.ServerState.Running).OrderBy(r => r.Name).ToList();
        var ports = running.Select(r => r.HttpPort).Distinct().ToList();
        return ports.Count switch
        {
            0 => Target(server.ConfiguredPort, "no server of this site is running: the configured HTTP port (STREAMBOOT_HTTP_PORT or --http-port of serve)"),
            1 => Target(ports[0], $"the running server {string.Join(", ", running.Select(r => r.Name))}"),
            _ => AdminError.Invalid($"several servers of this site are running ({string.Join(", ", running.Select(r => $"{r.Name} on HTTP port {r.HttpPort.ToString(CultureInfo.InvariantCulture)}"))}); choose the one the VM boots from with --server-port PORT"),
        };
    }

    private static NetbootTarget Target(int port, string source) =>
        new(string.Create(CultureInfo.InvariantCulture, $"http://{QemuArguments.NatHostAddress}:{port}/boot.ipxe"), port, source);

    /// <summary>Stops a VM: ACPI power button, then after <paramref name="timeout"/> the hard way.</summary>
    public async Task<AdminResult<(VmView View, VmStopResult Stop)>> StopAsync(string name, TimeSpan timeout, bool hard, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vm = found.Value;
        var stopped = await VmRuntime.StopAsync(new VmFolder(vm.Folder), timeout, hard, cancellationToken);
        if (stopped.Outcome != VmStopOutcome.NotRunning)
        {
            site.Audit(db, "vm.stop", vm.Name, new { outcome = stopped.Outcome.ToString(), seconds = Math.Round(stopped.Took.TotalSeconds, 1) });
            await db.SaveChangesAsync(cancellationToken);
        }

        return (ToView(vm, null), stopped);
    }

    /// <summary>The folder a VM's files are in, for waiting on and attaching to its console.</summary>
    public async Task<AdminResult<VmFolder>> FolderAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        return found.Ok ? new VmFolder(found.Value.Folder) : found.Error;
    }

    /// <summary>
    /// The end of a VM's serial console log since it last started (at most
    /// <paramref name="maxChars"/> characters), terminal control sequences
    /// removed: what a page shows of it.
    /// </summary>
    public async Task<AdminResult<string>> ConsoleLogAsync(string name, int maxChars = 64 * 1024, CancellationToken cancellationToken = default)
    {
        var folder = await FolderAsync(name, cancellationToken);
        if (!folder.Ok)
        {
            return folder.Error;
        }

        var text = VmRuntime.ReadConsole(folder.Value);
        return text.Length <= maxChars ? text : text[^maxChars..];
    }

    private static string AcceleratorName(Accelerator accelerator) => accelerator.ToString().ToLowerInvariant();
}
