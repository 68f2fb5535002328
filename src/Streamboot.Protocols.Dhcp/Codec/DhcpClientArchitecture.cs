namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>
/// Option 93, Client System Architecture Type (RFC 4578 §2.1 with its
/// erratum and IANA's registry). x64 UEFI firmware sends 7 in practice
/// (EDK2); 9 is the registry's "x86-64", so both mean x64 UEFI here.
/// </summary>
public enum DhcpClientArchitecture : ushort
{
    IntelX86Pc = 0,
    NecPc98 = 1,
    EfiItanium = 2,
    DecAlpha = 3,
    ArcX86 = 4,
    IntelLeanClient = 5,
    EfiIa32 = 6,
    EfiBc = 7,
    EfiXscale = 8,
    EfiX8664 = 9,
    EfiArm32 = 10,
    EfiArm64 = 11,
    EfiX8664Http = 16,
}
