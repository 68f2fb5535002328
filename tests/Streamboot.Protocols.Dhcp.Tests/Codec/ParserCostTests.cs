using System.Diagnostics;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;
using Xunit.Abstractions;

namespace Streamboot.Protocols.Dhcp.Tests.Codec;

/// <summary>
/// What parsing costs on hostile input: the largest datagram UDP carries,
/// filled with option pieces to be joined (RFC 3396). The parser must stay
/// linear in the datagram's size: the bytes it allocates are bounded by a
/// small multiple of the datagram (measured on this thread, so nothing else
/// running counts; time is only reported, never asserted).
/// </summary>
public sealed class ParserCostTests(ITestOutputHelper output)
{
    public static TheoryData<string> Shapes() => [.. Datagrams.RepeatedOptionShapes];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_65_KB_datagram_of_repeated_options_parses_with_allocations_linear_in_its_size(string shape)
    {
        var (datagram, joined) = Datagrams.RepeatedOptions(Datagrams.LargestUdpPayload, shape);
        Assert.Equal(Datagrams.LargestUdpPayload, datagram.Length);

        // Once to load and compile everything, then measured.
        Assert.True(DhcpPacket.TryParse(datagram, out _, out var error), error.ToString());
        var started = Stopwatch.GetTimestamp();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(DhcpPacket.TryParse(datagram, out var packet, out error), error.ToString());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var elapsed = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"{shape}: {datagram.Length} bytes parsed with {allocated:N0} bytes allocated in {elapsed.TotalMilliseconds:F2} ms");

        // The joined values are the datagram's bytes again, once: about its
        // size, plus an option object and array header per code.
        Assert.True(allocated <= (2L * datagram.Length) + (64 * 1024), $"{shape}: {allocated:N0} bytes allocated to parse {datagram.Length} bytes");

        // And joined right: every code's pieces in order, options then file then sname.
        Assert.Equal(
            joined.OrderBy(j => j.Key).Select(j => (j.Key, Convert.ToHexString(j.Value))),
            packet.Options.OrderBy(o => o.Code).Select(o => ((byte)o.Code, Convert.ToHexString(o.Value))));
    }
}
