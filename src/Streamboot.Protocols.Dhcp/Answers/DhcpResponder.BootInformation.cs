using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Answers;

internal sealed partial class DhcpResponder
{
    /// <summary>PXE_DISCOVERY_CONTROL = 8: boot the file of this offer; no menu, prompt or boot server discovery.</summary>
    private static readonly byte[] s_bootFileDirectly = EncapsulatedOptions.Build(((byte)PxeVendorOption.DiscoveryControl, [8]));

    /// <summary>iPXE's 175.176 = 1: do not wait for ProxyDHCP offers.</summary>
    private static readonly byte[] s_ipxeNoPxeDhcp = EncapsulatedOptions.Build(((byte)IpxeOption.NoPxeDhcp, [1]));

    /// <summary>
    /// The boot part of an answer to a PXE client, the same in both modes:
    /// siaddr and sname name the TFTP server, file and option 67 the file
    /// (a URL longer than the 127 bytes of the file field goes in option 67
    /// only), option 60 "PXEClient" marks the answer as PXE-aware (PXE 2.1
    /// §2.2.1), option 97 echoes the client's GUID (some ROMs drop answers
    /// without it).
    ///
    /// Option 43 is pixiecore's choice: legacy BIOS ROMs and iPXE get
    /// PXE_DISCOVERY_CONTROL = 8 and boot the file at once; UEFI firmware gets
    /// no option 43, which some firmware needs and all accept: it then asks
    /// port 4011 (BINL-style) and gets the file in that ACK.
    /// </summary>
    private DhcpPacket WithBootInformation(DhcpPacket reply, DhcpClient client, DhcpBootDecision decision)
    {
        var next = decision.NextServer ?? serverAddress;
        var file = decision.BootFile!;
        var withBoot = new DhcpPacket
        {
            Op = reply.Op,
            HardwareType = reply.HardwareType,
            HardwareAddressLength = reply.HardwareAddressLength,
            TransactionId = reply.TransactionId,
            Flags = reply.Flags,
            Ciaddr = reply.Ciaddr,
            Yiaddr = reply.Yiaddr,
            Siaddr = next,
            Giaddr = reply.Giaddr,
            Chaddr = reply.Chaddr,
            Sname = next.ToString(),
            File = file.Length < DhcpProtocol.FileLength ? file : "",
            Options = reply.Options,
        };
        var options = withBoot.Options;
        options.Set(DhcpOptionCode.VendorClassIdentifier, DhcpProtocol.PxeClientClass);
        options.Set(DhcpOptionCode.TftpServerName, next.ToString());
        options.Set(DhcpOptionCode.BootfileName, file);
        if (client.MachineIdOption is { } guid)
        {
            options.Set(DhcpOptionCode.ClientMachineIdentifier, guid);
        }

        if (client.IsIpxe || client.Architecture is null or DhcpClientArchitecture.IntelX86Pc)
        {
            options.Set(DhcpOptionCode.VendorSpecificInformation, s_bootFileDirectly);
        }

        if (client.IsIpxe && mode == DhcpMode.Full)
        {
            options.Set(DhcpOptionCode.IpxeEncapsulated, s_ipxeNoPxeDhcp);
        }

        return withBoot;
    }
}
