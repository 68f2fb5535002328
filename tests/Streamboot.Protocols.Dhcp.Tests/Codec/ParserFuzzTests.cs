using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Codec;

/// <summary>Properties of the codec over generated input: it never throws, and what it writes it reads back.</summary>
public sealed class ParserFuzzTests
{
    [Property(MaxTest = 2000)]
    public void Any_bytes_parse_or_are_refused_without_throwing(byte[] datagram)
    {
        var parsed = DhcpPacket.TryParse(datagram, out var packet, out var error);
        Assert.Equal(parsed, packet is not null);
        Assert.Equal(parsed, error == DhcpParseError.None);
    }

    [Property(MaxTest = 2000)]
    public void Mutated_real_packets_parse_or_are_refused_without_throwing(NonEmptyArray<Tuple<ushort, byte>> mutations, byte cut)
    {
        var datagram = Requests.IpxeDiscover(MacAddress.Parse("02:5b:00:00:03:01"), DhcpClientArchitecture.EfiBc).ToArray();
        foreach (var (position, value) in mutations.Get)
        {
            datagram[position % datagram.Length] = value;
        }

        datagram = datagram[..Math.Max(0, datagram.Length - cut)];
        if (DhcpPacket.TryParse(datagram, out var packet, out _))
        {
            // Whatever was accepted can be written again and reads back the same options.
            Assert.True(DhcpPacket.TryParse(Rewrite(packet), out var again, out var error), error.ToString());
            Assert.Equal(packet.Options.Select(o => (o.Code, Convert.ToHexString(o.Value))), again.Options.Select(o => (o.Code, Convert.ToHexString(o.Value))));
        }
    }

    [Property(MaxTest = 500)]
    public Property Options_round_trip_whatever_their_length() =>
        Prop.ForAll(
            Gen.Choose(0, 700).SelectMany(length => Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length)).ToArbitrary(),
            value =>
            {
                var packet = Requests.New(MacAddress.Parse("02:5b:00:00:03:02"), DhcpMessageType.Offer);
                packet.Options.Set((DhcpOptionCode)224, value);
                return DhcpPacket.TryParse(packet.ToArray(), out var read, out _)
                    && read.Options.Get((DhcpOptionCode)224)!.AsSpan().SequenceEqual(value);
            });

    private static byte[] Rewrite(DhcpPacket packet) => new DhcpPacket
    {
        Op = packet.Op,
        HardwareType = packet.HardwareType,
        HardwareAddressLength = packet.HardwareAddressLength,
        TransactionId = packet.TransactionId,
        Chaddr = packet.Chaddr,
        Options = packet.Options,
    }.ToArray();
}
