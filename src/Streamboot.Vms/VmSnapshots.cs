using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Streamboot.Vms.Disks;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms;

/// <summary>
/// Snapshots of a VM, kept inside its qcow2 disk (internal snapshots), as
/// Workstation keeps them beside its VMDK. On a stopped VM they are the
/// disk's alone (<c>qemu-img snapshot</c>); on a running one QEMU takes them
/// as jobs over QMP (<c>snapshot-save</c>, <c>-load</c>, <c>-delete</c>,
/// QEMU 6.0+) with the memory and device state saved into the same disk, so
/// a revert puts the guest back where it was, running. Only the VM's disk
/// is named to QEMU: the CD-ROMs and the UEFI variable store are raw and
/// read-only or small, and would make QEMU refuse the snapshot.
/// </summary>
public static class VmSnapshots
{
    private const string DiskDevice = "disk0";

    /// <summary>Long enough to write a few GiB of memory on a slow disk; a job still running then is reported, not left waiting.</summary>
    private static readonly TimeSpan s_jobTimeout = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(100);

    /// <summary>The disk's snapshots: from QEMU while the VM runs (it owns the disk then), else from qemu-img.</summary>
    public static async Task<(IReadOnlyList<DiskSnapshot>? Snapshots, string? Error)> ListAsync(VmFolder folder, string disk, CancellationToken cancellationToken = default)
    {
        if (!VmRuntime.State(folder).Running)
        {
            var (info, error) = await DiskImage.InfoAsync(disk, cancellationToken);
            return (info?.Snapshots, error);
        }

        try
        {
            await using var qmp = await QmpClient.ConnectAsync(folder.QmpSocket, cancellationToken);
            var (_, image) = await DiskNodeAsync(qmp, cancellationToken);
            return (DiskImage.Snapshots(image?["snapshots"] as JsonArray), null);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return (null, $"QEMU did not answer over QMP: {e.Message}");
        }
    }

    /// <summary>Takes snapshot <paramref name="name"/>: with the memory state when the VM runs. Null, or why not in one line.</summary>
    public static Task<string?> TakeAsync(VmFolder folder, string disk, string name, CancellationToken cancellationToken = default) =>
        RunAsync(folder, disk, 'c', "snapshot-save", name, withVmState: true, cancellationToken);

    /// <summary>Goes back to snapshot <paramref name="name"/>: disk and memory on a running VM (the snapshot must hold memory), the disk alone on a stopped one.</summary>
    public static Task<string?> RevertAsync(VmFolder folder, string disk, string name, CancellationToken cancellationToken = default) =>
        RunAsync(folder, disk, 'a', "snapshot-load", name, withVmState: true, cancellationToken);

    public static Task<string?> DeleteAsync(VmFolder folder, string disk, string name, CancellationToken cancellationToken = default) =>
        RunAsync(folder, disk, 'd', "snapshot-delete", name, withVmState: false, cancellationToken);

    private static async Task<string?> RunAsync(VmFolder folder, string disk, char offline, string job, string name, bool withVmState, CancellationToken cancellationToken)
    {
        if (!VmRuntime.State(folder).Running)
        {
            return await DiskImage.SnapshotAsync(disk, offline, name, cancellationToken);
        }

        try
        {
            await using var qmp = await QmpClient.ConnectAsync(folder.QmpSocket, cancellationToken);
            var (node, _) = await DiskNodeAsync(qmp, cancellationToken);
            if (node is null)
            {
                return "QEMU has no disk in the VM's drive";
            }

            var id = string.Create(CultureInfo.InvariantCulture, $"streamboot-{job}-{Environment.TickCount64}");
            var arguments = new JsonObject { ["job-id"] = id, ["tag"] = name, ["devices"] = new JsonArray(node) };
            if (withVmState)
            {
                arguments["vmstate"] = node;
            }

            await qmp.ExecuteAsync(job, arguments, cancellationToken);
            return await WaitForJobAsync(qmp, id, cancellationToken);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Waits for a QMP job to conclude and dismisses it; its error, or null.
    /// Polls <c>query-jobs</c> (the JOB_STATUS_CHANGE events say the same, but
    /// a poll cannot miss one that came before it listened).
    /// </summary>
    private static async Task<string?> WaitForJobAsync(QmpClient qmp, string id, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var jobs = await qmp.ExecuteAsync("query-jobs", null, cancellationToken) as JsonArray ?? [];
            var job = jobs.OfType<JsonObject>().FirstOrDefault(j => j["id"]?.GetValue<string>() == id);
            if (job is null)
            {
                return $"QEMU lost its job {id}";
            }

            if (job["status"]?.GetValue<string>() == "concluded")
            {
                var error = job["error"]?.GetValue<string>();
                await qmp.ExecuteAsync("job-dismiss", new JsonObject { ["id"] = id }, cancellationToken);
                return error;
            }

            if (clock.Elapsed > s_jobTimeout)
            {
                return $"QEMU's job {id} has not finished in {s_jobTimeout.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minutes (query-jobs shows it)";
            }

            await Task.Delay(s_poll, cancellationToken);
        }
    }

    /// <summary>The node name of the VM's disk (snapshot jobs name nodes, not drives) and QEMU's image information of it.</summary>
    private static async Task<(string? Node, JsonObject? Image)> DiskNodeAsync(QmpClient qmp, CancellationToken cancellationToken)
    {
        var blocks = await qmp.ExecuteAsync("query-block", null, cancellationToken) as JsonArray ?? [];
        var disk = blocks.OfType<JsonObject>().FirstOrDefault(b => b["device"]?.GetValue<string>() == DiskDevice);
        var inserted = disk?["inserted"] as JsonObject;
        return (inserted?["node-name"]?.GetValue<string>(), inserted?["image"] as JsonObject);
    }
}
