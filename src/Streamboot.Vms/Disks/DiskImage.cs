using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Streamboot.Vms.Disks;

/// <summary>
/// A disk as <c>qemu-img</c> sees it (any format it reads: raw, qcow2,
/// VMDK, VDI, VHD, VHDX; or a block device), and the internal snapshots
/// of a stopped VM's qcow2 disk (<c>qemu-img snapshot</c>). A running VM's
/// disk is QEMU's: snapshots of it go through QMP instead.
/// </summary>
public static class DiskImage
{
    public const string Program = "qemu-img";

    public static string? Missing() => ExternalProgram.Find(Program) is null ? $"{Program} is not installed; apt-get install qemu-utils" : null;

    /// <summary>
    /// Format, size, backing file and snapshots of <paramref name="path"/>,
    /// or the one-line reason qemu-img could not read it. Read with
    /// <c>--force-share</c>: a disk in use by a running VM can still be looked at.
    /// </summary>
    public static async Task<(DiskImageInfo? Info, string? Error)> InfoAsync(string path, CancellationToken cancellationToken = default)
    {
        var (exit, output, error) = await RunAsync(["info", "--output=json", "--force-share", path], cancellationToken);
        if (exit != 0)
        {
            return (null, $"qemu-img cannot read {path}: {OneLine(error)}");
        }

        try
        {
            var info = JsonNode.Parse(output) as JsonObject ?? throw new JsonException("not an object");
            return (new DiskImageInfo(
                info["format"]?.GetValue<string>() ?? "raw",
                info["virtual-size"]?.GetValue<long>() ?? 0,
                info["backing-filename"]?.GetValue<string>(),
                Snapshots(info["snapshots"] as JsonArray)), null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return (null, $"qemu-img info of {path} gave what is not its JSON: {e.Message}");
        }
    }

    /// <summary>qemu-img's (and QMP's, which has the same shape) list of a disk's internal snapshots.</summary>
    internal static IReadOnlyList<DiskSnapshot> Snapshots(JsonArray? snapshots) =>
        snapshots is null
            ? []
            : [.. snapshots.OfType<JsonObject>().Select(s => new DiskSnapshot(
                s["name"]?.GetValue<string>() ?? "",
                s["vm-state-size"]?.GetValue<long>() ?? 0,
                DateTimeOffset.FromUnixTimeSeconds(s["date-sec"]?.GetValue<long>() ?? 0).UtcDateTime,
                TimeSpan.FromSeconds(s["vm-clock-sec"]?.GetValue<long>() ?? 0)))];

    /// <summary><c>qemu-img snapshot -c|-a|-d NAME</c> on a disk no QEMU has open; null, or qemu-img's message in one line.</summary>
    public static async Task<string?> SnapshotAsync(string path, char action, string name, CancellationToken cancellationToken = default)
    {
        var (exit, _, error) = await RunAsync(["snapshot", "-" + action.ToString(CultureInfo.InvariantCulture), name, path], cancellationToken);
        return exit == 0 ? null : OneLine(error);
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var program = ExternalProgram.Find(Program) ?? throw new InvalidOperationException(Missing());
        return await ExternalProgram.RunAsync(program, arguments, cancellationToken);
    }

    private static string OneLine(string text) =>
        string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Replace("qemu-img: ", "", StringComparison.Ordinal);
}

/// <summary>What qemu-img says of a disk; the format is qemu's name of it: raw, qcow2, vmdk, vdi, vpc (VHD), vhdx ...</summary>
public sealed record DiskImageInfo(string Format, long VirtualSize, string? BackingFile, IReadOnlyList<DiskSnapshot> Snapshots);

/// <summary>
/// An internal snapshot of a qcow2 disk. <c>VmStateBytes</c> is the memory
/// and device state saved with it (0 for a disk-only snapshot, taken while
/// the VM was stopped); <c>VmClock</c> how long the guest had run then.
/// </summary>
public sealed record DiskSnapshot(string Name, long VmStateBytes, DateTime TakenAt, TimeSpan VmClock);
