using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Vms;

namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// The VM verbs as <see cref="IVmAdmin"/>, over <see cref="VmAdmin"/>: the
/// same calls, answered as the admin API answers them (<see cref="VmStarted"/>,
/// <see cref="VmStopped"/>, the plan's notes on the created VM), with the
/// site's <see cref="AdminSite.Farm"/> settings for a netboot VM's server.
/// A class of its own so that VmAdmin, already the largest, does not grow.
/// </summary>
public sealed class VmArea(AdminSite site) : IVmAdmin
{
    private readonly VmAdmin _vms = new(site);

    public async Task<AdminResult<IReadOnlyList<VmView>>> ListAsync(CancellationToken cancellationToken = default) =>
        AdminResult.Of(await _vms.ListAsync(cancellationToken));

    public Task<AdminResult<VmView>> ShowAsync(string name, CancellationToken cancellationToken = default) => _vms.ShowAsync(name, cancellationToken);

    public async Task<AdminResult<VmView>> CreateAsync(VmRequest request, CancellationToken cancellationToken = default)
    {
        var plan = await _vms.PlanAsync(request, cancellationToken);
        if (!plan.Ok)
        {
            return plan.Error;
        }

        var created = await _vms.CreateAsync(plan.Value, cancellationToken);
        return created.Ok ? created.Value with { Notes = plan.Value.Notes.Count == 0 ? null : plan.Value.Notes } : created.Error;
    }

    public async Task<AdminResult<VmStarted>> StartAsync(string name, string? accelerator, int? serverPort, CancellationToken cancellationToken = default)
    {
        var started = await _vms.StartAsync(name, accelerator, new NetbootServer(serverPort, site.Farm.HttpPort, site.Farm.Heartbeat), cancellationToken);
        if (!started.Ok)
        {
            return started.Error;
        }

        var (view, start, netboot) = started.Value;
        return new VmStarted(view, start.Pid, start.Accelerator.ToString().ToLowerInvariant(), start.Note, netboot?.Url, netboot?.Source);
    }

    public async Task<AdminResult<VmStopped>> StopAsync(string name, TimeSpan timeout, bool hard, CancellationToken cancellationToken = default)
    {
        var stopped = await _vms.StopAsync(name, timeout, hard, cancellationToken);
        return stopped.Ok
            ? new VmStopped(stopped.Value.View.Name, stopped.Value.Stop.Outcome, Math.Round(stopped.Value.Stop.Took.TotalSeconds, 1))
            : stopped.Error;
    }

    public Task<AdminResult<VmView>> DeleteAsync(string name, bool keepFiles, CancellationToken cancellationToken = default) => _vms.DeleteAsync(name, keepFiles, cancellationToken);

    public Task<AdminResult<VDiskView>> CaptureAsync(
        string name,
        string vdiskName,
        bool newVersion,
        string? format = null,
        string? access = null,
        string? writeCache = null,
        string? description = null,
        string? stage = null,
        IProgress<(long Done, long Total)>? progress = null,
        CancellationToken cancellationToken = default) =>
        _vms.CaptureAsync(name, vdiskName, newVersion, format, access, writeCache, description, stage, progress, cancellationToken);

    public Task<AdminResult<IReadOnlyList<VmSnapshotView>>> SnapshotsAsync(string name, CancellationToken cancellationToken = default) => _vms.SnapshotsAsync(name, cancellationToken);

    public Task<AdminResult<VmSnapshotView>> TakeSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default) => _vms.TakeSnapshotAsync(name, snapshot, cancellationToken);

    public Task<AdminResult<VmSnapshotView>> RevertSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default) => _vms.RevertSnapshotAsync(name, snapshot, cancellationToken);

    public Task<AdminResult<VmSnapshotView>> DeleteSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default) => _vms.DeleteSnapshotAsync(name, snapshot, cancellationToken);

    public async Task<AdminResult<string>> ConsoleAsync(string name, CancellationToken cancellationToken = default)
    {
        var folder = await _vms.FolderAsync(name, cancellationToken);
        return folder.Ok ? VmRuntime.ReadConsole(folder.Value) : folder.Error;
    }

    public async Task<AdminResult<VmWaitOutcome>> WaitForConsoleAsync(string name, string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var folder = await _vms.FolderAsync(name, cancellationToken);
        return folder.Ok ? await VmRuntime.WaitForConsoleAsync(folder.Value, text, timeout, cancellationToken) : folder.Error;
    }
}
