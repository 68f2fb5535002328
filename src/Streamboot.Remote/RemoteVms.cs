using System.Diagnostics;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Api.Contracts.Requests;
using Streamboot.Vms;

namespace Streamboot.Remote;

/// <summary>VMs through <c>/vms</c>: QEMU runs at the server, and paths (ISO, folder, disk file) are the server's.</summary>
internal sealed class RemoteVms(ApiConnection api) : IVmAdmin
{
    /// <summary>How often a wait for console text asks again: the log comes whole each time.</summary>
    private static readonly TimeSpan s_consolePoll = TimeSpan.FromSeconds(1);

    public Task<AdminResult<IReadOnlyList<VmView>>> ListAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<VmView>>(Paths.Of("vms"), cancellationToken);

    public Task<AdminResult<VmView>> ShowAsync(string name, CancellationToken cancellationToken = default) =>
        api.GetAsync<VmView>(Paths.Of("vms", name), cancellationToken);

    // Writing a preallocated disk or a seed image takes the server a while.
    public Task<AdminResult<VmView>> CreateAsync(VmRequest request, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmView>(HttpMethod.Post, Paths.Of("vms"), VmCreate.From(request), cancellationToken, longer: TimeSpan.FromMinutes(10));

    public Task<AdminResult<VmStarted>> StartAsync(string name, string? accelerator, int? serverPort, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmStarted>(HttpMethod.Post, Paths.Of("vms", name, "start"), new VmStart(accelerator, serverPort), cancellationToken);

    // The server waits for the guest up to the timeout before it answers.
    public Task<AdminResult<VmStopped>> StopAsync(string name, TimeSpan timeout, bool hard, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmStopped>(
            HttpMethod.Post,
            Paths.Query(Paths.Of("vms", name, "stop"), ("timeout", (int)timeout.TotalSeconds), ("hard", hard)),
            null,
            cancellationToken,
            longer: timeout);

    public Task<AdminResult<VmView>> DeleteAsync(string name, bool keepFiles, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmView>(HttpMethod.Delete, Paths.Query(Paths.Of("vms", name), ("keepFiles", keepFiles)), null, cancellationToken);

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
        RemoteOperations.RunAsync<VDiskView>(
            api, Paths.Of("vms", name, "capture"), new VmCapture(vdiskName, newVersion, stage, format, access, writeCache, description), progress, cancellationToken);

    public Task<AdminResult<IReadOnlyList<VmSnapshotView>>> SnapshotsAsync(string name, CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<VmSnapshotView>>(Paths.Of("vms", name, "snapshots"), cancellationToken);

    // A running VM's memory is written into its disk before the answer comes.
    public Task<AdminResult<VmSnapshotView>> TakeSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmSnapshotView>(HttpMethod.Post, Paths.Of("vms", name, "snapshots"), new VmSnapshotTake(snapshot), cancellationToken, longer: TimeSpan.FromMinutes(10));

    public Task<AdminResult<VmSnapshotView>> RevertSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmSnapshotView>(HttpMethod.Post, Paths.Of("vms", name, "snapshots", snapshot, "revert"), null, cancellationToken, longer: TimeSpan.FromMinutes(10));

    public Task<AdminResult<VmSnapshotView>> DeleteSnapshotAsync(string name, string snapshot, CancellationToken cancellationToken = default) =>
        api.SendAsync<VmSnapshotView>(HttpMethod.Delete, Paths.Of("vms", name, "snapshots", snapshot), null, cancellationToken, longer: TimeSpan.FromMinutes(10));

    public Task<AdminResult<string>> ConsoleAsync(string name, CancellationToken cancellationToken = default) =>
        api.GetTextAsync(Paths.Of("vms", name, "console"), cancellationToken);

    /// <summary>The console's log polled, as <c>vm start --wait-for</c> watches the file at the server.</summary>
    public async Task<AdminResult<VmWaitOutcome>> WaitForConsoleAsync(string name, string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var vm = await ShowAsync(name, cancellationToken);
            if (!vm.Ok)
            {
                return vm.Error;
            }

            var log = await ConsoleAsync(name, cancellationToken);
            if (!log.Ok)
            {
                return log.Error;
            }

            if (log.Value.Contains(text, StringComparison.Ordinal))
            {
                return VmWaitOutcome.Seen;
            }

            if (vm.Value.State != "running")
            {
                return VmWaitOutcome.Stopped;
            }

            if (clock.Elapsed > timeout)
            {
                return VmWaitOutcome.TimedOut;
            }

            await Task.Delay(s_consolePoll, cancellationToken);
        }
    }
}
