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
