using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// <c>streamboot serve --iscsi-port</c> to real initiators (libiscsi's
/// tools, qemu's libiscsi driver): the read-only view for anyone, a
/// device's own disk behind CHAP with the credentials its boot script hands
/// iPXE, isolation between devices, and what is refused.
/// </summary>
public sealed partial class IscsiServeTests : IAsyncLifetime
{
    private const string Base = "iqn.2026-01.org.streamboot";
    private readonly StreambootCli _cli = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ServerProcess? _server;
    private string _base = "";
    private int _iscsiPort;

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x11 0 2M");
        await _cli.OkAsync("vdisk", "set", "gold", "--boot-protocol", "iscsi");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:02", "--name", "pc2");
        await _cli.OkAsync("assign", "pc1", "gold");
        await _cli.OkAsync("assign", "pc2", "gold");
        var http = Ports.Free();
        _iscsiPort = Ports.Free();
        _base = $"http://127.0.0.1:{http}";
        _server = ServerProcess.Start(["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture),
            "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture), "--iscsi-port", _iscsiPort.ToString(CultureInfo.InvariantCulture)]);
        using var health = await _server.WaitForHttpAsync($"{_base}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            Assert.Equal(0, await _server.TerminateAsync(TimeSpan.FromSeconds(30)));
            await _server.DisposeAsync();
        }

        _http.Dispose();
        _cli.Dispose();
    }

    [Fact]
    public async Task Iscsi_ls_lists_the_read_only_view_and_reads_it_anonymously()
    {
        var listing = await LibiscsiAsync("iscsi-ls", "-s", $"iscsi://127.0.0.1:{_iscsiPort}");
        Assert.Contains($"Target:{Base}:gold Portal:127.0.0.1:{_iscsiPort},1", listing, StringComparison.Ordinal);
        Assert.DoesNotContain(":pc1", listing, StringComparison.Ordinal);
        var read = await ProcessRunner.RunAsync("qemu-io", ["-r", "-f", "raw", "-c", "read -P 0x11 0 2M", Url("gold")]);
        Assert.True(read.ExitCode == 0 && !read.Stdout.Contains("failed", StringComparison.Ordinal), read.ToString());
        // The view says it is write protected (MODE SENSE WP), and qemu will not open it for writing.
        var write = await ProcessRunner.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 1 0 4k", Url("gold")]);
        Assert.Contains("write protected", write.Stdout + write.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_boot_script_sanboots_over_iscsi_with_chap_credentials_that_log_in()
    {
        var script = await _http.GetStringAsync($"{_base}/boot.ipxe?mac=52:54:00:00:00:01");
        Assert.Contains("set username pc1\n", script, StringComparison.Ordinal);
        Assert.Matches($"\nsanboot --keep --drive 0x80 iscsi:127\\.0\\.0\\.1::{_iscsiPort}:0:{Regex.Escape(Base)}:gold:pc1 \\|\\| goto failed\n", script);
        // On its own subnet, the client's iBFT gets no gateway.
        Assert.Contains("\nset netX/gateway 0.0.0.0\n", script, StringComparison.Ordinal);
        var (password, reverseUser, reversePassword) = Credentials(script);
        Assert.Equal($"{Base}:gold:pc1", reverseUser);
        Assert.NotEqual(password, reversePassword);
        Assert.Matches("^[A-Za-z0-9]{16}$", password);

        // Mutual CHAP as iPXE does it; the first open starts the boot.
        var own = Url("gold:pc1", $"pc1%{password}", $"target_user={reverseUser}&target_password={reversePassword}");
        await QemuIoAsync(own, "write -P 0xa1 1M 64k", "read -P 0xa1 1M 64k", "read -P 0x11 0 1M");
        var sessions = await _cli.JsonAsync("session", "list", "--all");
        Assert.Contains(sessions.EnumerateArray(), s => s.GetProperty("device").GetString() == "pc1" && s.GetProperty("protocol").GetString() == "iscsi");

        // pc2's boot sees none of pc1's writes; the golden image has none either.
        var (password2, _, _) = Credentials(await _http.GetStringAsync($"{_base}/boot.ipxe?mac=52:54:00:00:00:02"));
        await QemuIoAsync(Url("gold:pc2", $"pc2%{password2}"), "read -P 0x11 1M 64k");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "read -P 0x11 1M 64k");

        // pc1's secret is not pc2's, a wrong one is refused, and neither ever reaches the log.
        var crossed = await ProcessRunner.RunAsync("iscsi-inq", [Url("gold:pc2", $"pc2%{password}")]);
        Assert.NotEqual(0, crossed.ExitCode);
        var wrong = await ProcessRunner.RunAsync("iscsi-inq", [Url("gold:pc1", "pc1%AAAAAAAAAAAAAAAA")]);
        Assert.Contains("Authentication failure", wrong.Stdout + wrong.Stderr, StringComparison.Ordinal);
        var anonymous = await ProcessRunner.RunAsync("iscsi-inq", [Url("gold:pc1")]);
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.DoesNotContain(password, _server!.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(reversePassword, _server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_boot_script_retires_the_old_credentials_once_the_new_boot_starts()
    {
        var (first, _, _) = Credentials(await _http.GetStringAsync($"{_base}/boot.ipxe?mac=52:54:00:00:00:02"));
        await QemuIoAsync(Url("gold:pc2", $"pc2%{first}"), "read -P 0x11 0 64k");
        var (second, _, _) = Credentials(await _http.GetStringAsync($"{_base}/boot.ipxe?mac=52:54:00:00:00:02"));
        Assert.NotEqual(first, second);
        await QemuIoAsync(Url("gold:pc2", $"pc2%{second}"), "read -P 0x11 0 64k");
        var old = await ProcessRunner.RunAsync("iscsi-inq", [Url("gold:pc2", $"pc2%{first}")]);
        Assert.NotEqual(0, old.ExitCode);
    }

    private static (string Password, string ReverseUser, string ReversePassword) Credentials(string script) => (
        PasswordLine().Match(script).Groups[1].Value,
        ReverseUserLine().Match(script).Groups[1].Value,
        ReversePasswordLine().Match(script).Groups[1].Value);

    private string Url(string target, string? credentials = null, string? query = null) =>
        $"iscsi://{(credentials is null ? "" : credentials + "@")}127.0.0.1:{_iscsiPort}/{Base}:{target}/0{(query is null ? "" : "?" + query)}";

    private static async Task<string> LibiscsiAsync(string tool, params string[] arguments)
    {
        var path = ProcessRunner.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's 'libiscsi-bin' package (./test.sh installs it)");
        var result = await ProcessRunner.RunAsync(path, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

    private static async Task QemuIoAsync(string url, params string[] commands)
    {
        var result = await ProcessRunner.RunAsync("qemu-io", ["-f", "raw", .. commands.SelectMany(c => new[] { "-c", c }), url]);
        Assert.True(result.ExitCode == 0 && !(result.Stdout + result.Stderr).Contains("failed", StringComparison.OrdinalIgnoreCase)
            && !result.Stderr.Contains("Unknown protocol", StringComparison.Ordinal), $"qemu-io {url}: {result} (qemu's iSCSI driver is Debian's qemu-block-extra)");
    }

    [GeneratedRegex("\nset password ([^\n]+)\n")]
    private static partial Regex PasswordLine();

    [GeneratedRegex("\nset reverse-username ([^\n]+)\n")]
    private static partial Regex ReverseUserLine();

    [GeneratedRegex("\nset reverse-password ([^\n]+)\n")]
    private static partial Regex ReversePasswordLine();
}
