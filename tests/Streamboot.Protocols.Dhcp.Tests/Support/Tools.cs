using Streamboot.Testing;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>The third-party programs these tests drive; a missing one fails the test and names its Debian package.</summary>
public static class Tools
{
    public static string Path(string tool, string package) =>
        ProcessRunner.Find(tool, "/usr/sbin", "/sbin", "/usr/bin")
        ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's '{package}' package (test.sh does)");

    public static string Ip => Path("ip", "iproute2");

    public static string Udhcpc => Path("udhcpc", "udhcpc");

    public static string Dhclient => Path("dhclient", "isc-dhcp-client");

    public static string Nmap => Path("nmap", "nmap");

    public static string Tcpdump => Path("tcpdump", "tcpdump");

    public static string Tshark => Path("tshark", "tshark");

    public static string Rdisc6 => Path("rdisc6", "ndisc6");

    public static string Dnsmasq => Path("dnsmasq", "dnsmasq-base");

    /// <summary>QEMU; its e1000 boot ROM (iPXE) comes from Debian's ipxe-qemu.</summary>
    public static string Qemu => File.Exists("/usr/lib/ipxe/qemu/efi-e1000.rom")
        ? Path("qemu-system-x86_64", "qemu-system-x86")
        : throw new InvalidOperationException("QEMU's e1000 boot ROM is missing: install Debian's 'ipxe-qemu' package (test.sh does)");

    // Debian's tools first on PATH (a pyenv or local shim must not shadow them).
    private static readonly Dictionary<string, string?> s_environment = new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin",
        ["LC_ALL"] = "C",
    };

    public static Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync(program, arguments, s_environment, timeout: timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Runs a program and fails the test with its output unless it exits 0.</summary>
    public static async Task<string> CheckAsync(string program, params string[] arguments)
    {
        var result = await RunAsync(program, arguments);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }
}
