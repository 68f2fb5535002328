using System.Net;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Codec;

public sealed class DhcpPacketTests
{
    [Fact]
    public void A_written_packet_reads_back_field_for_field()
    {
        var packet = new DhcpPacket
        {
            Op = DhcpOpCode.BootReply,
            Hops = 1,
            TransactionId = 0xdeadbeef,
            Seconds = 4,
            Flags = DhcpProtocol.BroadcastFlag,
            Ciaddr = IPAddress.Parse("10.0.0.9"),
            Yiaddr = IPAddress.Parse("10.0.0.10"),
            Siaddr = IPAddress.Parse("10.0.0.1"),
            Giaddr = IPAddress.Parse("10.0.1.1"),
            Chaddr = [2, 0x5b, 0, 0, 0, 1],
            Sname = "10.0.0.1",
            File = "undionly.kpxe",
        };
        packet.Options.Set(DhcpOptionCode.ServerIdentifier, IPAddress.Parse("10.0.0.1")).Set(DhcpOptionCode.MessageType, (byte)DhcpMessageType.Offer);

        var bytes = packet.ToArray();
        Assert.True(DhcpPacket.TryParse(bytes, out var read, out var error), error.ToString());

        Assert.Equal(DhcpProtocol.MinimumPacketLength, bytes.Length);
        // Option 53 goes first on the wire even when set later.
        Assert.Equal(new byte[] { 53, 1, 2 }, bytes[DhcpProtocol.OptionsOffset..(DhcpProtocol.OptionsOffset + 3)]);
        Assert.Equal(DhcpOpCode.BootReply, read.Op);
        Assert.Equal(1, read.Hops);
        Assert.Equal(0xdeadbeef, read.TransactionId);
        Assert.Equal(4, read.Seconds);
        Assert.True(read.Broadcast);
        Assert.Equal(packet.Ciaddr, read.Ciaddr);
        Assert.Equal(packet.Yiaddr, read.Yiaddr);
        Assert.Equal(packet.Siaddr, read.Siaddr);
        Assert.Equal(packet.Giaddr, read.Giaddr);
        Assert.Equal(MacAddress.Parse("02:5b:00:00:00:01"), read.ClientMac);
        Assert.Equal("10.0.0.1", read.Sname);
        Assert.Equal("undionly.kpxe", read.File);
        Assert.Equal(DhcpMessageType.Offer, read.MessageType);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), read.Options.GetAddress(DhcpOptionCode.ServerIdentifier));
    }

    [Fact]
    public void A_value_longer_than_255_bytes_is_split_on_write_and_joined_on_read()
    {
        var url = "http://10.0.0.1/" + new string('a', 400);
        var packet = Requests.New(MacAddress.Parse("02:5b:00:00:00:02"), DhcpMessageType.Ack);
        packet.Options.Set(DhcpOptionCode.BootfileName, url);

        var bytes = packet.ToArray();
        Assert.True(DhcpPacket.TryParse(bytes, out var read, out _));

        Assert.Equal(url, read.Options.GetString(DhcpOptionCode.BootfileName));
        var first = DhcpProtocol.OptionsOffset + 3;
        Assert.Equal(new byte[] { 67, 255 }, bytes[first..(first + 2)]);
        Assert.Equal(new byte[] { 67, (byte)(url.Length - 255) }, bytes[(first + 257)..(first + 259)]);
    }

    [Fact]
    public void Overloaded_options_continue_in_file_then_sname_and_pieces_join_in_that_order()
    {
        // 60 is split over all three areas: options, file, sname (RFC 3396 §6).
        var datagram = Datagrams.Build(
            [53, 1, 1, 52, 1, 3, 60, 3, (byte)'P', (byte)'X', (byte)'E', 255],
            file: [60, 6, (byte)'C', (byte)'l', (byte)'i', (byte)'e', (byte)'n', (byte)'t', 0, 0, 93, 2, 0, 7, 255],
            sname: [60, 2, (byte)':', (byte)'x', 52, 1, 1, 255]);

        Assert.True(DhcpPacket.TryParse(datagram, out var packet, out var error), error.ToString());

        Assert.Equal("PXEClient:x", packet.Options.GetString(DhcpOptionCode.VendorClassIdentifier));
        Assert.Equal((ushort)7, packet.Options.GetUInt16(DhcpOptionCode.ClientSystemArchitecture));
        Assert.Equal("", packet.File);
        Assert.Equal("", packet.Sname);
        // An option 52 inside the overloaded fields means nothing.
        Assert.Equal((byte)3, packet.Options.GetByte(DhcpOptionCode.OptionOverload));
    }

    [Fact]
    public void Without_overload_file_and_sname_are_names_even_if_they_look_like_options()
    {
        var datagram = Datagrams.Build([53, 1, 1, 255], file: [60, 1, 65, 0], sname: [(byte)'b', (byte)'o', (byte)'o', (byte)'t']);
        Assert.True(DhcpPacket.TryParse(datagram, out var packet, out _));

        Assert.Equal("<\u0001A", packet.File);
        Assert.Equal("boot", packet.Sname);
        Assert.False(packet.Options.Contains(DhcpOptionCode.VendorClassIdentifier));
    }

    [Fact]
    public void Pads_are_skipped_and_a_missing_end_ends_at_the_field_end()
    {
        Assert.True(DhcpPacket.TryParse(Datagrams.Build([0, 0, 53, 1, 3, 0, 50, 4, 10, 0, 0, 7]), out var packet, out _));
        Assert.Equal(DhcpMessageType.Request, packet.MessageType);
        Assert.Equal(IPAddress.Parse("10.0.0.7"), packet.Options.GetAddress(DhcpOptionCode.RequestedIpAddress));
    }

    [Fact]
    public void Bytes_after_the_end_option_are_ignored()
    {
        Assert.True(DhcpPacket.TryParse(Datagrams.Build([53, 1, 1, 255, 60, 200, 1]), out var packet, out _));
        Assert.False(packet.Options.Contains(DhcpOptionCode.VendorClassIdentifier));
    }

    public static TheoryData<string> BadNames() => [.. Datagrams.Bad().Where(b => b.Error != DhcpParseError.None).Select(b => b.Name)];

    [Theory]
    [MemberData(nameof(BadNames))]
    public void Each_malformed_datagram_is_refused_with_its_reason(string name)
    {
        var (_, datagram, _, expected) = Datagrams.Bad().Single(b => b.Name == name);
        Assert.False(DhcpPacket.TryParse(datagram, out var packet, out var error));
        Assert.Null(packet);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Typed_getters_read_a_wrong_length_as_absent()
    {
        var options = new DhcpOptions().Set(DhcpOptionCode.ServerIdentifier, [1, 2, 3]).Set(DhcpOptionCode.ClientSystemArchitecture, [7]);
        Assert.Null(options.GetAddress(DhcpOptionCode.ServerIdentifier));
        Assert.Null(options.GetUInt16(DhcpOptionCode.ClientSystemArchitecture));
        Assert.Null(options.GetUInt32(DhcpOptionCode.IpAddressLeaseTime));
    }

    [Fact]
    public void Encapsulated_options_build_and_parse()
    {
        var bytes = EncapsulatedOptions.Build(((byte)PxeVendorOption.DiscoveryControl, [8]), ((byte)PxeVendorOption.BootItem, [0x80, 0, 0, 0]));
        Assert.Equal(new byte[] { 6, 1, 8, 71, 4, 0x80, 0, 0, 0, 255 }, bytes);
        var parsed = EncapsulatedOptions.Parse(bytes)!;
        Assert.Equal([6, 71], parsed.Select(o => o.Code));
        Assert.Null(EncapsulatedOptions.Parse([6, 5, 8]));
    }
}
