using System.Net;
using Streamboot.Protocols.Dhcp.Leases;

namespace Streamboot.Protocols.Dhcp;

/// <summary>Where and how a <see cref="DhcpServer"/> answers.</summary>
public sealed class DhcpServerOptions
{
    /// <summary>The one interface served (SO_BINDTODEVICE); nothing is heard or sent elsewhere.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>Proxy (the default: never hands out addresses) or full.</summary>
    public DhcpMode Mode { get; init; } = DhcpMode.Proxy;

    /// <summary>The address pool; required in full mode, ignored in proxy mode.</summary>
    public DhcpPoolOptions? Pool { get; init; }

    /// <summary>Our address for option 54 and siaddr; null learns the interface's first IPv4 address at start.</summary>
    public IPAddress? ServerAddress { get; init; }

    /// <summary>Where requests arrive (67); tests may move it.</summary>
    public int ServerPort { get; init; } = Codec.DhcpProtocol.ServerPort;

    /// <summary>Where clients listen (68).</summary>
    public int ClientPort { get; init; } = Codec.DhcpProtocol.ClientPort;

    /// <summary>The PXE boot server port (4011), served in both modes; 0 turns it off.</summary>
    public int PxePort { get; init; } = Codec.DhcpProtocol.PxePort;

    /// <summary>Requests handled at once (each may wait on the boot policy or the lease store).</summary>
    public int MaxConcurrentRequests { get; init; } = 64;

    /// <summary>
    /// The largest datagram read as DHCP. A client's message is a few hundred
    /// bytes (PXE ROMs and iPXE send under 600; RFC 2131 asks every party to
    /// take 576); a larger one is dropped unparsed (<see cref="DhcpDropReason.TooLarge"/>),
    /// counted and logged. At least 576, at most 65535.
    /// </summary>
    public int MaxDatagramSize { get; init; } = 4096;

    /// <summary>
    /// Log lines per minute for each kind of drop a client can cause at will
    /// (malformed or oversized datagrams, requests not answered, host
    /// failures); beyond it they are only counted in <see cref="DhcpCounters"/>,
    /// and the next line written says how many were left out.
    /// </summary>
    public int RefusalLogLinesPerMinute { get; init; } = 60;

    /// <summary>
    /// Also send IPv6 router advertisements on the interface (router lifetime
    /// 0, no prefix), so iPXE stops waiting for a router. Only on a dedicated
    /// boot network: a network with a real IPv6 router does not need it.
    /// </summary>
    public bool SendRouterAdvertisements { get; init; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(InterfaceName);
        if (InterfaceName.Length > 15)
        {
            throw new ArgumentException($"interface name '{InterfaceName}' is longer than Linux's 15 characters");
        }

        if (Mode == DhcpMode.Full)
        {
            if (Pool is null)
            {
                throw new ArgumentException("full mode needs a Pool");
            }

            Pool.Validate();
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ServerPort, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ClientPort, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(PxePort);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDatagramSize, Codec.DhcpProtocol.DefaultMaximumMessageSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxDatagramSize, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(RefusalLogLinesPerMinute, 1);
    }
}
