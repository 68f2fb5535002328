using System.Net;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>
/// Wireshark's dissector as a second opinion on what the server writes:
/// replies recorded with tcpdump on the server's end of the link decode
/// without malformed-packet or expert warnings and show the options PXE needs.
/// </summary>
public sealed class TsharkTests
{
    [Fact]
    public async Task Full_mode_replies_decode_cleanly_with_the_pxe_and_ipxe_options()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        var pcap = bench.Folder.Combine("full.pcap");
        await using (var dump = await StartCaptureAsync(bench, pcap))
        {
            await Udhcpc.LeaseOnceAsync(bench, Udhcpc.BiosPxe);
            await Udhcpc.LeaseOnceAsync(bench, Udhcpc.Ipxe);
            await StopCaptureAsync(dump);
        }

        var text = await DecodeAsync(pcap);
        Assert.Contains("DHCP Message Type (Offer)", text, StringComparison.Ordinal);
        Assert.Contains("DHCP Message Type (ACK)", text, StringComparison.Ordinal);
        Assert.Contains($"Option: (54) DHCP Server Identifier ({bench.ServerAddress})", text, StringComparison.Ordinal);
        Assert.Contains("Bootfile name: undionly.kpxe", text, StringComparison.Ordinal);
        Assert.Contains($"Bootfile name: http://{bench.ServerAddress}/boot.ipxe", text, StringComparison.Ordinal);
        Assert.Contains("Vendor class identifier: PXEClient", text, StringComparison.Ordinal);
        Assert.Contains("Option: (43) Vendor-Specific Information", text, StringComparison.Ordinal);
        Assert.Contains("Option: (175) Etherboot", text, StringComparison.Ordinal);
        Assert.Contains($"TFTP Server Name: {bench.ServerAddress}", text, StringComparison.Ordinal);
        Assert.Contains($"Next server IP address: {bench.ServerAddress}", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proxy_mode_replies_decode_cleanly_on_both_ports()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        var pcap = bench.Folder.Combine("proxy.pcap");
        await using (var dump = await StartCaptureAsync(bench, pcap))
        {
            using var client = RawDhcpClient.Open(bench.Link);
            var mac = MacAddress.Parse("02:5b:00:00:04:01");
            await client.ExchangeAsync(Requests.PxeDiscover(mac, DhcpClientArchitecture.IntelX86Pc));
            await bench.Link.AddClientAddressAsync(bench.Link.Address(50));
            var request = Requests.PxeDiscover(mac, DhcpClientArchitecture.EfiBc, DhcpMessageType.Request);
            await client.ExchangeAsync(request, new IPEndPoint(bench.ServerAddress, DhcpProtocol.PxePort));
            await StopCaptureAsync(dump);
        }

        var text = await DecodeAsync(pcap, "-d", $"udp.port=={DhcpProtocol.PxePort},dhcp");
        Assert.Contains("DHCP Message Type (Offer)", text, StringComparison.Ordinal);
        Assert.Contains("DHCP Message Type (ACK)", text, StringComparison.Ordinal);
        Assert.Contains("Your (client) IP address: 0.0.0.0", text, StringComparison.Ordinal);
        Assert.Contains("Bootfile name: undionly.kpxe", text, StringComparison.Ordinal);
        Assert.Contains("Bootfile name: ipxe.efi", text, StringComparison.Ordinal);
        Assert.Contains("Option: (43) Vendor-Specific Information", text, StringComparison.Ordinal);
        Assert.Contains("Option: (97) UUID/GUID-based Client Identifier", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// tcpdump on the server's end, as root (it would drop to its own user and
    /// not write our folder), in immediate mode (else packets wait in the
    /// capture ring and are lost when it is stopped).
    /// </summary>
    private static async Task<BackgroundProcess> StartCaptureAsync(DhcpBench bench, string pcap)
    {
        var dump = BackgroundProcess.Start(Tools.Tcpdump, "-Z", "root", "--immediate-mode", "-i", bench.Link.HostInterface, "-U", "-n", "-w", pcap, "udp port 67 or udp port 68 or udp port 4011");
        Assert.True(await dump.WaitForAsync(p => p.Stderr.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), dump.Stderr);
        return dump;
    }

    /// <summary>The client may have the last reply before tcpdump has written it: give it a moment.</summary>
    private static async Task StopCaptureAsync(BackgroundProcess dump)
    {
        await Task.Delay(500);
        await dump.StopAsync();
    }

    /// <summary>tshark's full decode of our replies; fails on anything it flags.</summary>
    private static async Task<string> DecodeAsync(string pcap, params string[] extra)
    {
        var result = await Tools.RunAsync(Tools.Tshark, ["-r", pcap, "-V", "-Y", "dhcp.option.dhcp == 2 || dhcp.option.dhcp == 5", .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var text = result.Stdout;
        Assert.DoesNotContain("Malformed", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("[Expert Info (Warning", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[Expert Info (Error", text, StringComparison.Ordinal);
        Assert.True(text.Contains("Dynamic Host Configuration Protocol", StringComparison.Ordinal), $"tshark decoded no DHCP reply: {result}\n{File.ReadAllText(pcap).Length} bytes of capture");
        return text;
    }
}
