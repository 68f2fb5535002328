using System.Net;

namespace Streamboot.Protocols.Dhcp.Boot;

/// <summary>The boot policy's answer for one client.</summary>
public sealed record DhcpBootDecision
{
    /// <summary>Do not network-boot this client: proxy mode stays silent, full mode still gives it an address.</summary>
    public static DhcpBootDecision NoBoot { get; } = new();

    /// <summary>A TFTP file name (undionly.kpxe) or, for iPXE, a URL (http://10.0.0.1/boot.ipxe).</summary>
    public string? BootFile { get; init; }

    /// <summary>The TFTP server (siaddr, option 66); null means this server.</summary>
    public IPAddress? NextServer { get; init; }

    public bool Boots => BootFile is not null;

    public static DhcpBootDecision Boot(string bootFile, IPAddress? nextServer = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(bootFile);
        return new DhcpBootDecision { BootFile = bootFile, NextServer = nextServer };
    }
}
