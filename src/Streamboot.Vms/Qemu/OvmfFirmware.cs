namespace Streamboot.Vms.Qemu;

/// <summary>
/// UEFI firmware for VMs: OVMF from Debian's <c>ovmf</c> package. The code
/// is shared and read-only; each VM gets its own copy of the variable store
/// (boot entries, settings), as a physical board has its own NVRAM.
/// </summary>
public sealed record OvmfFirmware(string Code, string VarsTemplate)
{
    // Newest first: Debian 12 ships the 4 MiB builds; older releases the 2 MiB ones.
    private static readonly (string Code, string Vars)[] s_candidates =
    [
        ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
        ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
        ("/usr/share/ovmf/OVMF_CODE.fd", "/usr/share/ovmf/OVMF_VARS.fd"),
    ];

    // Secure Boot: the code built with SMM (its variables writable only from
    // System Management Mode, so the guest cannot bypass the checks) and a
    // variable store with Microsoft's keys enrolled and Secure Boot on, as a
    // PC ships; Debian's ovmf package, 4 MiB builds.
    private static readonly (string Code, string Vars) s_secureBoot = ("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");

    /// <summary>The firmware for a VM: with <paramref name="secureBoot"/>, the SMM build and Microsoft's keys.</summary>
    public static OvmfFirmware? Find(bool secureBoot) =>
        !secureBoot ? Find() : File.Exists(s_secureBoot.Code) && File.Exists(s_secureBoot.Vars) ? new OvmfFirmware(s_secureBoot.Code, s_secureBoot.Vars) : null;

    public static string? MissingSecureBoot() => Find(secureBoot: true) is null
        ? $"the Secure Boot firmware ({s_secureBoot.Code} and {s_secureBoot.Vars}) is not installed; apt-get install ovmf, or make the VM with --no-secure-boot"
        : null;

    public static OvmfFirmware? Find()
    {
        foreach (var (code, vars) in s_candidates)
        {
            if (File.Exists(code) && File.Exists(vars))
            {
                return new OvmfFirmware(code, vars);
            }
        }

        return null;
    }

    public static string? Missing() => Find() is null ? "UEFI firmware (OVMF) is not installed; apt-get install ovmf, or choose --firmware bios" : null;
}
