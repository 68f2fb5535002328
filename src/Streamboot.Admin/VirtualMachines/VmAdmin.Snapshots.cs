using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Vms;
using Streamboot.Vms.Disks;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    private const int MaxSnapshotNameLength = 64;

    /// <summary>The VM's snapshots, oldest first.</summary>
    public async Task<AdminResult<IReadOnlyList<VmSnapshotView>>> SnapshotsAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await SnapshotTargetAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (vm, folder) = found.Value;
        var (snapshots, error) = await VmSnapshots.ListAsync(folder, vm.DiskFile!, cancellationToken);
        return snapshots is null
            ? AdminError.Failed($"cannot list the snapshots of VM '{vm.Name}': {error}")
            : AdminResult.Of<IReadOnlyList<VmSnapshotView>>([.. snapshots.OrderBy(s => s.TakenAt).Select(s => View(vm, s))]);
    }

    /// <summary>Takes a snapshot: the disk, and when the VM runs its memory state too (the guest pauses while it is written).</summary>
    public async Task<AdminResult<VmSnapshotView>> TakeSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default)
    {
        if (!TryValidateSnapshotName(snapshot, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        var before = await FindSnapshotAsync(name, snapshot, cancellationToken);
        if (!before.Ok)
        {
            return before.Error;
        }

        var (vm, folder, existing) = before.Value;
        if (existing is not null)
        {
            return AdminError.Conflict($"VM '{vm.Name}' has a snapshot '{existing.Name}' already; delete it first (streamboot vm snapshot {vm.Name} delete {existing.Name}) or choose another name");
        }

        var running = VmRuntime.State(folder).Running;
        if (await VmSnapshots.TakeAsync(folder, vm.DiskFile!, snapshot, cancellationToken) is { } error)
        {
            return AdminError.Failed($"cannot take snapshot '{snapshot}' of VM '{vm.Name}': {error}");
        }

        return await AfterAsync(vm, "vm.snapshot.take", snapshot, running, running ? null : "the VM is stopped: the snapshot holds its disk only", cancellationToken);
    }

    /// <summary>
    /// Goes back to a snapshot. A running VM gets the snapshot's disk and
    /// memory and runs on from there, so the snapshot must hold memory; a
    /// stopped VM gets its disk back and boots from it at its next start.
    /// </summary>
    public async Task<AdminResult<VmSnapshotView>> RevertSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default)
    {
        var found = await ExistingSnapshotAsync(name, snapshot, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (vm, folder, existing) = found.Value;

        var running = VmRuntime.State(folder).Running;
        if (running && existing.VmStateBytes == 0)
        {
            return AdminError.Refused($"snapshot '{existing.Name}' was taken while VM '{vm.Name}' was stopped: it holds no memory state to resume; stop the VM (streamboot vm stop {vm.Name}), then revert to it");
        }

        if (await VmSnapshots.RevertAsync(folder, vm.DiskFile!, existing.Name, cancellationToken) is { } error)
        {
            return AdminError.Failed($"cannot revert VM '{vm.Name}' to snapshot '{existing.Name}': {error}");
        }

        var note = !running && existing.VmStateBytes > 0
            ? "the VM is stopped: its disk is as it was in the snapshot, and it boots from it at its next start (the memory state is resumed only by a revert while the VM runs)"
            : null;
        return await AfterAsync(vm, "vm.snapshot.revert", existing.Name, running, note, cancellationToken);
    }

    public async Task<AdminResult<VmSnapshotView>> DeleteSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default)
    {
        var found = await ExistingSnapshotAsync(name, snapshot, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (vm, folder, existing) = found.Value;

        var running = VmRuntime.State(folder).Running;
        if (await VmSnapshots.DeleteAsync(folder, vm.DiskFile!, existing.Name, cancellationToken) is { } error)
        {
            return AdminError.Failed($"cannot delete snapshot '{existing.Name}' of VM '{vm.Name}': {error}");
        }

        await AuditAsync(vm, "vm.snapshot.delete", existing.Name, running, cancellationToken);
        return View(vm, existing);
    }

    /// <summary>
    /// A snapshot name: letters, digits, '.', '_', '-', at most 64, and not
    /// a bare number, which qcow2 would take for a snapshot's numeric id.
    /// </summary>
    public static bool TryValidateSnapshotName(string? name, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(name) || name.Length > MaxSnapshotNameLength || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-')))
        {
            error = $"snapshot name '{name}' is not valid: letters, digits, '.', '_' and '-' only, 1 to {MaxSnapshotNameLength} characters";
            return false;
        }

        if (name.All(char.IsAsciiDigit))
        {
            error = $"snapshot name '{name}' is a bare number, which qcow2 takes for a snapshot's id; add a letter (such as s{name})";
            return false;
        }

        return true;
    }

    private async Task<AdminResult<VmSnapshotView>> AfterAsync(VirtualMachine vm, string action, string snapshot, bool running, string? note, CancellationToken cancellationToken)
    {
        await AuditAsync(vm, action, snapshot, running, cancellationToken);
        var (snapshots, error) = await VmSnapshots.ListAsync(new VmFolder(vm.Folder), vm.DiskFile!, cancellationToken);
        var taken = snapshots?.FirstOrDefault(s => s.Name == snapshot);
        return taken is null
            ? AdminError.Failed($"snapshot '{snapshot}' of VM '{vm.Name}' is not in its disk's list afterwards{(error is null ? "" : ": " + error)}")
            : View(vm, taken) with { Note = note };
    }

    private async Task AuditAsync(VirtualMachine vm, string action, string snapshot, bool running, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        site.Audit(db, action, vm.Name, new { snapshot, running });
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The VM and its snapshot of that name; not found when it has none.</summary>
    private async Task<AdminResult<(VirtualMachine Vm, VmFolder Folder, DiskSnapshot Existing)>> ExistingSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken)
    {
        var found = await FindSnapshotAsync(name, snapshot, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (vm, folder, existing) = found.Value;
        return existing is null ? NoSnapshot(vm, snapshot) : (vm, folder, existing);
    }

    private async Task<AdminResult<(VirtualMachine Vm, VmFolder Folder, DiskSnapshot? Existing)>> FindSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var found = await SnapshotTargetAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (vm, folder) = found.Value;
        var (snapshots, error) = await VmSnapshots.ListAsync(folder, vm.DiskFile!, cancellationToken);
        return snapshots is null
            ? AdminError.Failed($"cannot read the snapshots of VM '{vm.Name}': {error}")
            : (vm, folder, snapshots.FirstOrDefault(s => s.Name == snapshot));
    }

    /// <summary>The VM, if its disk can hold snapshots: a qcow2 disk that exists.</summary>
    private static async Task<AdminResult<(VirtualMachine Vm, VmFolder Folder)>> SnapshotTargetAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vm = found.Value;
        if (vm.DiskFile is null)
        {
            return AdminError.Refused($"VM '{vm.Name}' is a diskless client: it has no disk to snapshot");
        }

        if (vm.DiskFormat != ImageFormat.Qcow2)
        {
            return AdminError.Refused($"VM '{vm.Name}' has a raw disk ({vm.DiskFile}), which cannot hold snapshots; only qcow2 disks can (make a VM with --existing-disk {vm.DiskFile} --disk-format qcow2 for a qcow2 copy)");
        }

        if (!File.Exists(vm.DiskFile))
        {
            return AdminError.Failed($"the VM's disk {vm.DiskFile} is missing");
        }

        if (DiskImage.Missing() is { } missing)
        {
            return AdminError.Failed(missing);
        }

        return (vm, new VmFolder(vm.Folder));
    }

    private static AdminError NoSnapshot(VirtualMachine vm, string snapshot) =>
        AdminError.NotFound($"VM '{vm.Name}' has no snapshot '{snapshot}'; 'streamboot vm snapshot {vm.Name} list' shows them");

    private static VmSnapshotView View(VirtualMachine vm, DiskSnapshot s) =>
        new(vm.Name, s.Name, s.VmStateBytes > 0, s.VmStateBytes, s.TakenAt, Math.Round(s.VmClock.TotalSeconds, 1));
}
