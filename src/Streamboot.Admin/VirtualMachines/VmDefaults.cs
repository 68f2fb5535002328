namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// What a new VM gets when the admin does not say, per guest family, as the
/// wizard of VMware Workstation proposes for a guest type; never more than
/// the host can give.
/// </summary>
public sealed record VmDefaults(int MemoryMiB, long DiskSizeBytes, VmFirmware Firmware, int Sockets, int CoresPerSocket, string MachineType)
{
    public const string DefaultMachineType = "q35";

    /// <summary>The smallest disk worth installing onto: room for a partition table and a boot loader.</summary>
    public const long MinimumDiskBytes = 1024 * 1024;

    public const int MinimumMemoryMiB = 32;

    public static VmDefaults For(GuestOsFamily family, int hostCpus, long? hostMemoryBytes)
    {
        var (memory, disk, firmware, cores) = family switch
        {
            // Windows 11 wants UEFI, 4 GiB and 64 GiB.
            GuestOsFamily.Windows => (4096, 64L << 30, VmFirmware.Uefi, 2),
            GuestOsFamily.Linux => (2048, 20L << 30, VmFirmware.Bios, 2),
            _ => (1024, 8L << 30, VmFirmware.Bios, 1),
        };
        if (hostMemoryBytes is { } host)
        {
            // Leave the host half of its memory.
            memory = (int)Math.Max(MinimumMemoryMiB, Math.Min(memory, host / 2 / (1024 * 1024) / 256 * 256));
        }

        return new VmDefaults(memory, disk, firmware, 1, Math.Max(1, Math.Min(cores, hostCpus)), DefaultMachineType);
    }
}
