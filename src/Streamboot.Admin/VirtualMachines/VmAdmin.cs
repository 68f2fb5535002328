using System.Globalization;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Vms;
using Streamboot.Vms.Host;
using Streamboot.Vms.Qemu;

namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// Virtual machines: golden images are installed in them and diskless
/// clients are made of them. A VM is a row in the site database (its
/// hardware) and a folder of files (disk, seed, firmware variables, and
/// while it runs, QEMU's PID file, sockets and console log).
/// </summary>
public sealed partial class VmAdmin(AdminSite site)
{
    /// <summary>The folder new VMs go in: <c>DATA/vms</c>.</summary>
    public string VmRoot => Path.Combine(site.DataFolder, "vms");

    /// <summary>What a VM of this family gets by default on this host.</summary>
    public static VmDefaults Defaults(GuestOsFamily family) => VmDefaults.For(family, HostResources.LogicalCpus, HostResources.MemoryBytes);

    /// <summary>The PC machine types this host's QEMU offers (hardware compatibility), aliases first.</summary>
    public static async Task<AdminResult<string[]>> MachineTypesAsync(CancellationToken cancellationToken = default)
    {
        if (QemuSystem.Missing() is { } missing)
        {
            return AdminError.Failed(missing);
        }

        try
        {
            return (await QemuSystem.MachineTypesAsync(cancellationToken)).ToArray();
        }
        catch (InvalidOperationException e)
        {
            return AdminError.Failed(e.Message);
        }
    }

    public async Task<IReadOnlyList<VmView>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var vms = await db.VirtualMachines.Include(v => v.Device).OrderBy(v => v.Name).ToListAsync(cancellationToken);
        return [.. vms.Select(v => ToView(v, null))];
    }

    public async Task<AdminResult<VmView>> ShowAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var folder = new VmFolder(found.Value.Folder);
        var screen = VmRuntime.State(folder).Running ? await VmRuntime.VncAddressAsync(folder, cancellationToken) : null;
        return ToView(found.Value, screen);
    }

    /// <summary>Deletes a stopped VM: its row and the files it made (disk, seed, firmware variables, logs), unless <paramref name="keepFiles"/>.</summary>
    public async Task<AdminResult<VmView>> DeleteAsync(string name, bool keepFiles, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vm = found.Value;
        var folder = new VmFolder(vm.Folder);
        if (VmRuntime.State(folder) is { Running: true, Pid: var pid })
        {
            return AdminError.Refused($"VM '{vm.Name}' is running (QEMU PID {pid}); stop it first: streamboot vm stop {vm.Name}");
        }

        var view = ToView(vm, null);
        db.VirtualMachines.Remove(vm);
        site.Audit(db, "vm.delete", vm.Name, new { keepFiles, vm.Folder, vm.DiskFile });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        // Files go only after the row: a failed delete leaves a working VM.
        if (!keepFiles)
        {
            var extra = ExtraHardware(vm.Hardware);
            var files = new[] { vm.DiskAttached ? null : vm.DiskFile, vm.SeedFile, folder.UefiVars, folder.SerconPort, folder.ConsoleLog, folder.PreviousConsoleLog, folder.BridgeScript, folder.RuntimeFile, folder.PidFile, folder.ConsoleSocket, folder.QmpSocket }
                .Concat(extra.Disks.Select(d => d.File))
                .Concat(Enumerable.Range(1, VmExtraHardware.MaxSerialPorts).Select(folder.SerialSocket))
                .Concat(Enumerable.Range(1, VmExtraHardware.MaxExtraNics).Select(folder.BridgeScriptFor));
            foreach (var file in files.Concat([folder.TpmLog, folder.TpmPidFile, folder.TpmSocket]).OfType<string>())
            {
                BestEffort.DeleteFile(file);
            }

            if (Directory.Exists(folder.TpmState))
            {
                // The TPM's keys go with the VM, as a scrapped board's chip does.
                Directory.Delete(folder.TpmState, recursive: true);
            }

            BestEffort.RemoveFolderIfEmpty(folder.Path);
        }

        return view;
    }

    internal static async Task<AdminResult<VirtualMachine>> FindAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var lower = name.Trim().ToLowerInvariant();
        var vm = await db.VirtualMachines.Include(v => v.Device).FirstOrDefaultAsync(v => v.Name.ToLower() == lower, cancellationToken);
        return vm is null
            ? AdminError.NotFound($"no VM '{name}'; 'streamboot vm list' shows the VMs")
            : vm;
    }

    /// <summary>QEMU's view of a VM row.</summary>
    internal static VmHardware Hardware(VirtualMachine vm, string? netbootUrl) => new()
    {
        Name = vm.Name,
        Uuid = vm.Uuid,
        MachineType = vm.MachineType,
        GuestOs = vm.GuestOs,
        Firmware = vm.Firmware,
        Sockets = vm.Sockets,
        CoresPerSocket = vm.CoresPerSocket,
        MemoryMiB = vm.MemoryMiB,
        DiskFile = vm.DiskFile,
        DiskFormat = vm.DiskFormat is { } format ? KebabCase.Of(format) : null,
        DiskBus = vm.DiskBus,
        InstallerIso = vm.InstallerIso,
        SeedFile = vm.SeedFile,
        Network = vm.Network,
        Bridge = vm.Bridge,
        NetbootUrl = netbootUrl,
        Mac = vm.Mac,
        Extra = ExtraHardware(vm.Hardware),
    };

    private static VmView ToView(VirtualMachine v, string? screen)
    {
        var folder = new VmFolder(v.Folder);
        var state = VmRuntime.State(folder);
        return new VmView(
            v.Name,
            state.Running ? "running" : "stopped",
            v.Folder,
            v.GuestOs,
            v.GuestOsVersion,
            v.MachineType,
            v.Firmware,
            v.Sockets,
            v.CoresPerSocket,
            v.MemoryMiB,
            v.DiskFile,
            v.DiskFormat,
            v.DiskSizeBytes,
            v.DiskPreallocated,
            v.InstallerIso,
            v.SeedFile,
            v.UserName,
            v.FullName,
            v.HostName,
            v.Network,
            v.Bridge,
            v.Mac,
            v.Device?.Name,
            folder.ConsoleLog,
            state.Pid,
            state.Accelerator,
            state.StartedAt,
            screen,
            v.CreatedAt)
        {
            DiskBus = v.DiskFile is null ? null : v.DiskBus ?? QemuArguments.DefaultDiskBus(v.GuestOs, v.MachineType),
            DiskAttached = v.DiskAttached,
            Hardware = ExtraHardware(v.Hardware),
        };
    }

    /// <summary>A MAC in QEMU's locally administered range 52:54:00, used by no VM and no device.</summary>
    private static async Task<string> NewMacAsync(StreambootDbContext db, IReadOnlyCollection<string> taken, CancellationToken cancellationToken)
    {
        while (true)
        {
            var bytes = RandomNumberGenerator.GetBytes(3);
            var mac = string.Create(CultureInfo.InvariantCulture, $"52:54:00:{bytes[0]:x2}:{bytes[1]:x2}:{bytes[2]:x2}");
            if (!taken.Contains(mac) && !await db.VirtualMachines.AnyAsync(v => v.Mac == mac, cancellationToken) && !await db.Devices.AnyAsync(d => d.Mac == mac, cancellationToken))
            {
                return mac;
            }
        }
    }
}
