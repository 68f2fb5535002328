using System.Globalization;
using Streamboot.Admin.Views;
using Streamboot.Vms;
using Streamboot.Vms.Qemu;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    /// <summary>
    /// Starts a VM. <paramref name="accelerator"/> is auto, kvm or tcg;
    /// <paramref name="httpPort"/> is this server's HTTP port, which a netboot
    /// VM behind QEMU's NAT reaches on the NAT's host address.
    /// </summary>
    public async Task<AdminResult<(VmView View, VmStartResult Start)>> StartAsync(string name, string? accelerator, int httpPort, CancellationToken cancellationToken = default)
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
        var netboot = vm.Network == VmNetworkMode.Netboot && vm.Bridge is null
            ? string.Create(CultureInfo.InvariantCulture, $"http://{QemuArguments.NatHostAddress}:{httpPort}/boot.ipxe")
            : null;
        var folder = new VmFolder(vm.Folder);
        if (!Directory.Exists(folder.Path))
        {
            return AdminError.Failed($"the VM's folder {folder.Path} is missing");
        }

        var started = await VmRuntime.StartAsync(Hardware(vm, netboot), folder, accel, cancellationToken);
        if (!started.Ok)
        {
            return started.AlreadyRunning ? AdminError.Refused(started.Error!) : AdminError.Failed(started.Error!);
        }

        site.Audit(db, "vm.start", vm.Name, new { accelerator = AcceleratorName(started.Accelerator), started.Pid });
        await db.SaveChangesAsync(cancellationToken);
        return (ToView(vm, null), started);
    }

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

    private static string AcceleratorName(Accelerator accelerator) => accelerator.ToString().ToLowerInvariant();
}
