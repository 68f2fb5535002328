using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Vms;

namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// The VM verbs as <see cref="IVmAdmin"/>: the same calls, answered as the
/// admin API answers them (<see cref="VmStarted"/>, <see cref="VmStopped"/>),
/// with the site's <see cref="AdminSite.Farm"/> settings for a netboot VM's server.
/// </summary>
public sealed partial class VmAdmin : IVmAdmin
{
    async Task<AdminResult<IReadOnlyList<VmView>>> IVmAdmin.ListAsync(CancellationToken cancellationToken) =>
        AdminResult.Of(await ListAsync(cancellationToken));

    async Task<AdminResult<VmView>> IVmAdmin.CreateAsync(VmRequest request, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(request, cancellationToken);
        if (!plan.Ok)
        {
            return plan.Error;
        }

        var created = await CreateAsync(plan.Value, cancellationToken);
        return created.Ok ? created.Value with { Notes = plan.Value.Notes.Count == 0 ? null : plan.Value.Notes } : created.Error;
    }

    async Task<AdminResult<VmStarted>> IVmAdmin.StartAsync(string name, string? accelerator, int? serverPort, CancellationToken cancellationToken)
    {
        var started = await StartAsync(name, accelerator, new NetbootServer(serverPort, site.Farm.HttpPort, site.Farm.Heartbeat), cancellationToken);
        if (!started.Ok)
        {
            return started.Error;
        }

        var (view, start, netboot) = started.Value;
        return new VmStarted(view, start.Pid, AcceleratorName(start.Accelerator), start.Note, netboot?.Url, netboot?.Source);
    }

    async Task<AdminResult<VmStopped>> IVmAdmin.StopAsync(string name, TimeSpan timeout, bool hard, CancellationToken cancellationToken)
    {
        var stopped = await StopAsync(name, timeout, hard, cancellationToken);
        return stopped.Ok
            ? new VmStopped(stopped.Value.View.Name, stopped.Value.Stop.Outcome, Math.Round(stopped.Value.Stop.Took.TotalSeconds, 1))
            : stopped.Error;
    }

    async Task<AdminResult<string>> IVmAdmin.ConsoleAsync(string name, CancellationToken cancellationToken)
    {
        var folder = await FolderAsync(name, cancellationToken);
        return folder.Ok ? VmRuntime.ReadConsole(folder.Value) : folder.Error;
    }

    async Task<AdminResult<VmWaitOutcome>> IVmAdmin.WaitForConsoleAsync(string name, string text, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var folder = await FolderAsync(name, cancellationToken);
        return folder.Ok ? await VmRuntime.WaitForConsoleAsync(folder.Value, text, timeout, cancellationToken) : folder.Error;
    }
}
