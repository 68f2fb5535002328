using Streamboot.Protocols.Dhcp.Tests.Support;
using Streamboot.Testing;

namespace Streamboot.Protocols.Dhcp.Tests.Codec;

/// <summary>
/// Real clients' packets (testdata/*.pcap, recorded by testdata/capture.sh:
/// udhcpc, dhclient, nmap, QEMU's iPXE boot ROM, and a crafted overloaded
/// packet) parsed by the codec and compared with the checked-in rendering
/// (NAME.parsed). STREAMBOOT_UPDATE_GOLDEN=1 rewrites the renderings.
/// </summary>
public sealed class GoldenTests
{
    private static string TestData => Path.Combine(Repository.Root, "tests", "Streamboot.Protocols.Dhcp.Tests", "testdata");

    private static IEnumerable<string> Names() =>
        Directory.GetFiles(TestData, "*.pcap").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);

    public static TheoryData<string> Captures() => [.. Names()];

    [Theory]
    [MemberData(nameof(Captures))]
    public void A_capture_parses_to_its_golden_rendering(string name)
    {
        var rendered = PacketText.Render(Pcap.ReadUdp(Path.Combine(TestData, name + ".pcap")));
        var golden = Path.Combine(TestData, name + ".parsed");
        if (Environment.GetEnvironmentVariable("STREAMBOOT_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden, rendered);
        }

        Assert.True(File.Exists(golden), $"{golden} is missing: run with STREAMBOOT_UPDATE_GOLDEN=1 and check it in");
        Assert.Equal(File.ReadAllText(golden), rendered);
        Assert.DoesNotContain("refused", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void The_captures_cover_the_clients_the_server_must_understand()
    {
        Assert.Superset(new HashSet<string>(["udhcpc", "dhclient", "nmap", "ipxe-qemu", "crafted"]), Names().ToHashSet());
        var ipxe = File.ReadAllText(Path.Combine(TestData, "ipxe-qemu.parsed"));
        Assert.Contains("option  77 UserClass: \"iPXE\"", ipxe, StringComparison.Ordinal);
        Assert.Contains("option  93 ClientSystemArchitecture: IntelX86Pc", ipxe, StringComparison.Ordinal);
        var crafted = File.ReadAllText(Path.Combine(TestData, "crafted.parsed"));
        Assert.Contains("option  60 VendorClassIdentifier: \"PXEClient:Arch:00000\"", crafted, StringComparison.Ordinal);
    }
}
