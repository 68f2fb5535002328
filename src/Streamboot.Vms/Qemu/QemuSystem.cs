using System.Globalization;

namespace Streamboot.Vms.Qemu;

/// <summary>The QEMU that runs VMs here: <c>qemu-system-x86_64</c> and the machine types it offers.</summary>
public static class QemuSystem
{
    public const string Program = "qemu-system-x86_64";

    private static IReadOnlyList<string>? s_machineTypes;

    /// <summary>Names another QEMU binary (a build of one's own) instead of the one on PATH.</summary>
    public const string OverrideVariable = "STREAMBOOT_QEMU";

    public static string? Find() =>
        Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } chosen
            ? (File.Exists(chosen) ? chosen : null)
            : ExternalProgram.Find(Program);

    public static string? Missing() => Find() is not null
        ? null
        : Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } chosen
            ? $"{OverrideVariable}={chosen} does not exist; fix the path, or unset it to use {Program} from apt-get install qemu-system-x86"
            : $"{Program} is not installed; apt-get install qemu-system-x86";

    /// <summary>
    /// The PC machine types (hardware compatibility) this QEMU knows: the
    /// aliases <c>q35</c> and <c>pc</c> and every versioned <c>pc-q35-X.Y</c>
    /// and <c>pc-i440fx-X.Y</c>, from <c>-machine help</c>.
    /// </summary>
    public static async Task<IReadOnlyList<string>> MachineTypesAsync(CancellationToken cancellationToken = default)
    {
        if (s_machineTypes is { } known)
        {
            return known;
        }

        var qemu = Find() ?? throw new InvalidOperationException(Missing());
        var (exit, output, error) = await ExternalProgram.RunAsync(qemu, ["-machine", "help"], cancellationToken);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{qemu} -machine help failed (exit {exit.ToString(CultureInfo.InvariantCulture)}): {error.Trim()}");
        }

        s_machineTypes = ParseMachineTypes(output);
        return s_machineTypes;
    }

    /// <summary>Reads <c>-machine help</c>: one machine a line, its name first.</summary>
    internal static IReadOnlyList<string> ParseMachineTypes(string help) =>
    [
        .. help.Split('\n')
            .Select(line => line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 0)
            .Select(fields => fields[0].Trim())
            .Where(IsPcMachine)
            .Distinct(StringComparer.Ordinal)
            .OrderBy(name => name.Contains('-', StringComparison.Ordinal))
            .ThenByDescending(name => name, StringComparer.Ordinal),
    ];

    /// <summary>Whether a machine type is a PC that firmware and installers expect (not microvm, isapc or none).</summary>
    public static bool IsPcMachine(string name) =>
        name is "q35" or "pc" || name.StartsWith("pc-q35-", StringComparison.Ordinal) || name.StartsWith("pc-i440fx-", StringComparison.Ordinal);

    /// <summary>Q35 machines have an AHCI controller (six SATA ports); the i440FX PC has two IDE channels of two.</summary>
    public static bool IsQ35(string machineType) => machineType == "q35" || machineType.StartsWith("pc-q35-", StringComparison.Ordinal);
}
