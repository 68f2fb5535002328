using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Security;

/// <summary>
/// One <c>./streamboot serve</c> on loopback for the attack tests: vDisk gold
/// (its first 4 MiB 0x11), devices pc1 to pc4 assigned it, TFTP on a free
/// port with a boot file, and a low HTTP per-address limit so one test can
/// reach it. Attackers connect from 127.0.0.2 (loopback holds all of
/// 127.0.0.0/8), the real machines from 127.0.0.1.
/// </summary>
public sealed partial class HostileSite : IAsyncLifetime
{
    public const int HttpLimitPerAddress = 8;
    public static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    private readonly StreambootCli _cli = new();

    public ServerProcess Server { get; private set; } = null!;

    public StreambootCli Cli => _cli;

    public string Base { get; private set; } = "";

    public int NbdPort { get; private set; }

    public int TftpPort { get; private set; }

    public byte[] BootFile { get; } = RandomNumberGenerator(300_000);

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "16M", "--format", "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x11 0 4M");
        for (var i = 1; i <= 4; i++)
        {
            await _cli.OkAsync("device", "add", $"52:54:00:00:00:0{i}", "--name", $"pc{i}");
            await _cli.OkAsync("assign", $"pc{i}", "gold");
        }

        var tftp = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "tftp"));
        await File.WriteAllBytesAsync(Path.Combine(tftp.FullName, "boot.bin"), BootFile);
        var http = Ports.Free();
        NbdPort = Ports.Free();
        TftpPort = Ports.FreeUdp();
        Base = $"http://127.0.0.1:{http}";
        Server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "0.0.0.0", "--http-port", Text(http), "--nbd-port", Text(NbdPort)],
            new Dictionary<string, string?>
            {
                ["STREAMBOOT_TFTP_PORT"] = Text(TftpPort),
                ["STREAMBOOT_HTTP_MAX_CONNECTIONS_PER_ADDRESS"] = Text(HttpLimitPerAddress),
            });
        using var health = await Server.WaitForHttpAsync($"{Base}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await Server.TerminateAsync(TimeSpan.FromSeconds(30));
        await Server.DisposeAsync();
        _cli.Dispose();
    }

    /// <summary>An HTTP client whose connections come from <paramref name="source"/>.</summary>
    public static HttpClient ClientFrom(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, token) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(context.DnsEndPoint, token);
            return new NetworkStream(socket, ownsSocket: true);
        },
        PooledConnectionLifetime = TimeSpan.FromSeconds(1),
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The machine with this MAC asks for its boot script from <paramref name="client"/>; returns the boot's key.</summary>
    public async Task<string> BootAsync(HttpClient client, string mac)
    {
        var script = await client.GetStringAsync($"{Base}/boot.ipxe?mac={mac}");
        var key = Key().Match(script);
        Assert.True(key.Success, "no key in the script:\n" + script);
        return key.Groups[1].Value;
    }

    public string NbdUri(string view) => $"nbd://127.0.0.1:{NbdPort}/{view.Replace("/", "%2F", StringComparison.Ordinal)}";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static byte[] RandomNumberGenerator(int length)
    {
        var bytes = new byte[length];
        new Random(42).NextBytes(bytes);
        return bytes;
    }

    [GeneratedRegex(@"/vdisk/[^/\s]+/[^/\s]+/([0-9a-f]{32})\b")]
    private static partial Regex Key();
}
