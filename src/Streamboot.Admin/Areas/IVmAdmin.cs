using Streamboot.Admin.Views;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Vms;

namespace Streamboot.Admin.Areas;

/// <summary>
/// Virtual machines: <see cref="VmArea"/> over <see cref="VmAdmin"/>, or the API's <c>/vms</c>
/// (admin scope only; QEMU runs where the site is, as its user). The
/// wizard and the interactive console are not here: they need the
/// terminal of the machine the VM runs on.
/// </summary>
public interface IVmAdmin
{
    Task<AdminResult<IReadOnlyList<VmView>>> ListAsync(CancellationToken cancellationToken = default);

    Task<AdminResult<VmView>> ShowAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Plans and makes a VM from the request as it is (no questions asked); the answer carries the plan's notes.</summary>
    Task<AdminResult<VmView>> CreateAsync(VmRequest request, CancellationToken cancellationToken = default);

    /// <summary><paramref name="accelerator"/>: auto, kvm or tcg; <paramref name="serverPort"/>: the HTTP port a NAT netboot VM boots from.</summary>
    Task<AdminResult<VmStarted>> StartAsync(string name, string? accelerator, int? serverPort, CancellationToken cancellationToken = default);

    Task<AdminResult<VmStopped>> StopAsync(string name, TimeSpan timeout, bool hard, CancellationToken cancellationToken = default);

    Task<AdminResult<VmView>> DeleteAsync(string name, bool keepFiles, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> CaptureAsync(
        string name,
        string vdiskName,
        bool newVersion,
        string? format = null,
        string? access = null,
        string? writeCache = null,
        string? description = null,
        string? stage = null,
        IProgress<(long Done, long Total)>? progress = null,
        CancellationToken cancellationToken = default);

    /// <summary>The VM's snapshots (in its qcow2 disk), oldest first.</summary>
    Task<AdminResult<IReadOnlyList<VmSnapshotView>>> SnapshotsAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Takes a snapshot of the disk, and of the memory when the VM runs.</summary>
    Task<AdminResult<VmSnapshotView>> TakeSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default);

    /// <summary>Goes back to a snapshot: disk and memory on a running VM, the disk on a stopped one.</summary>
    Task<AdminResult<VmSnapshotView>> RevertSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default);

    Task<AdminResult<VmSnapshotView>> DeleteSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default);

    /// <summary>The serial console's log since the VM last started.</summary>
    Task<AdminResult<string>> ConsoleAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Waits until the console shows <paramref name="text"/>, the VM stops, or <paramref name="timeout"/> passes.</summary>
    Task<AdminResult<VmWaitOutcome>> WaitForConsoleAsync(string name, string text, TimeSpan timeout, CancellationToken cancellationToken = default);
}
