namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>
/// The option codes this server reads or writes (RFC 2132 unless noted).
/// Any other code is carried as its number.
/// </summary>
public enum DhcpOptionCode : byte
{
    Pad = 0,
    SubnetMask = 1,
    Router = 3,
    DomainNameServer = 6,
    HostName = 12,
    DomainName = 15,
    BroadcastAddress = 28,

    /// <summary>Vendor-specific information; for PXE clients the PXE sub-options (<see cref="PxeVendorOption"/>).</summary>
    VendorSpecificInformation = 43,
    RequestedIpAddress = 50,
    IpAddressLeaseTime = 51,

    /// <summary>1: options continue in the file field, 2: in sname, 3: both (RFC 2132 §9.3).</summary>
    OptionOverload = 52,
    MessageType = 53,
    ServerIdentifier = 54,
    ParameterRequestList = 55,
    Message = 56,
    MaximumMessageSize = 57,
    RenewalTime = 58,
    RebindingTime = 59,
    VendorClassIdentifier = 60,
    ClientIdentifier = 61,
    TftpServerName = 66,
    BootfileName = 67,

    /// <summary>RFC 3004; iPXE sends the bare string "iPXE".</summary>
    UserClass = 77,

    /// <summary>RFC 4578 §2.1, <see cref="DhcpClientArchitecture"/>.</summary>
    ClientSystemArchitecture = 93,

    /// <summary>RFC 4578 §2.2: type 1, UNDI major, minor.</summary>
    ClientNetworkInterfaceIdentifier = 94,

    /// <summary>RFC 4578 §2.3: type 0 and a 16-byte GUID (the SMBIOS UUID).</summary>
    ClientMachineIdentifier = 97,

    /// <summary>iPXE's encapsulated options (<see cref="IpxeOption"/>).</summary>
    IpxeEncapsulated = 175,
    End = 255,
}
