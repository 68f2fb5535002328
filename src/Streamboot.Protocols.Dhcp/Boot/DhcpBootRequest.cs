using System.Net;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Boot;

/// <summary>What a PXE client said about itself, as the boot policy sees it.</summary>
public sealed record DhcpBootRequest
{
    public required MacAddress Mac { get; init; }

    /// <summary>Option 93 (RFC 4578), null when absent or malformed.</summary>
    public DhcpClientArchitecture? Architecture { get; init; }

    /// <summary>Option 97: the machine's SMBIOS UUID (byte order as Guid(byte[]) reads it, which is SMBIOS's).</summary>
    public Guid? MachineId { get; init; }

    /// <summary>Option 60, e.g. "PXEClient:Arch:00000:UNDI:002001".</summary>
    public string? VendorClass { get; init; }

    /// <summary>Option 77, split into its RFC 3004 instances (iPXE sends one bare string, "iPXE").</summary>
    public IReadOnlyList<string> UserClasses { get; init; } = [];

    /// <summary>The client runs iPXE already: user class "iPXE" or option 175 present.</summary>
    public bool IsIpxe { get; init; }

    /// <summary>The mode of the server asking.</summary>
    public DhcpMode Mode { get; init; }

    /// <summary>The answering server's address on the client's network (for URLs like http://SERVER/boot.ipxe).</summary>
    public required IPAddress ServerAddress { get; init; }
}
