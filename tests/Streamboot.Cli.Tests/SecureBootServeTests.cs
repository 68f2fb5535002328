using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// <c>streamboot serve</c>'s TFTP as the Secure Boot chain sees it, asked by
/// curl's TFTP client: Debian's signed shim and GRUB, GRUB's bootstrap, a
/// machine's configuration decided as iPXE's script is, its kernel and
/// initrd by a token that is not the key, the key's initramfs piece; a
/// kernel shim would refuse is refused in words (screen, log, session
/// list), and nothing logs a key. (The VM tests boot through all of it in
/// OVMF with Secure Boot on.)
/// </summary>
public sealed partial class SecureBootServeTests : IAsyncLifetime
{
    private const string Mac = "52:54:00:5e:00:01";
    private readonly StreambootCli _cli = new();
    private readonly TempFolder _downloads = new("tftp-get");
    private ServerProcess? _server;
    private int _tftpPort;
    private string _boot = "";

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await _cli.OkAsync("collection", "add", "secure", "--boot-loader", "secure-boot");
        await _cli.OkAsync("device", "add", Mac, "--name", "sb-pc1", "--collection", "secure");
        await _cli.OkAsync("assign", "sb-pc1", "gold");
        _boot = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "vdisks", "gold", "boot")).FullName;
        File.Copy(Kernel(), Path.Combine(_boot, "vmlinuz"));
        await File.WriteAllTextAsync(Path.Combine(_boot, "initrd.img"), "initrd of gold\n");
        await File.WriteAllTextAsync(Path.Combine(_boot, "cmdline"), "console=ttyS0 quiet\n");
        var http = Ports.Free();
        _tftpPort = Ports.FreeUdp();
        _server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--nbd-port", Text(Ports.Free()), "--tftp-port", Text(_tftpPort)],
            // One client booting at a time: a second one waits its turn (the queue test).
            new Dictionary<string, string?> { ["STREAMBOOT_BOOT_RETRY_SECONDS"] = "7", ["STREAMBOOT_BOOT_QUEUE_RETRY_SECONDS"] = "4", ["STREAMBOOT_MAX_BOOTING"] = "1", ["STREAMBOOT_ISCSI_PORT"] = "0" });
        using var health = await _server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            Assert.Equal(0, await _server.TerminateAsync(TimeSpan.FromSeconds(30)));
            await _server.DisposeAsync();
        }

        _cli.Dispose();
        _downloads.Dispose();
    }

    [Fact]
    public async Task Tftp_serves_debians_signed_shim_and_grub_and_the_bootstrap_that_asks_for_the_machine()
    {
        Assert.Equal(await File.ReadAllBytesAsync("/usr/lib/shim/shimx64.efi.signed"), await GetAsync("shimx64.efi"));
        Assert.Equal(await File.ReadAllBytesAsync("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"), await GetAsync("grubx64.efi"));

        var bootstrap = Encoding.UTF8.GetString(await GetAsync("grub/grub.cfg"));
        Assert.Contains("set streamboot=\"(tftp,$net_default_server)/streamboot\"", bootstrap, StringComparison.Ordinal);
        Assert.Contains("source \"$streamboot/grub/$streamboot_sb/$net_default_mac$1\"", bootstrap, StringComparison.Ordinal);
        Assert.Contains("sleep 7", bootstrap, StringComparison.Ordinal);

        // A file of the site's own replaces it.
        Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "tftp", "grub"));
        await File.WriteAllTextAsync(Path.Combine(_cli.DataFolder, "tftp", "grub", "grub.cfg"), "echo site's own\n");
        Assert.Equal("echo site's own\n", Encoding.UTF8.GetString(await GetAsync("grub/grub.cfg")));
    }

    [Fact]
    public async Task A_signed_kernel_boots_with_the_session_on_its_command_line_and_the_key_in_no_path_it_shows()
    {
        var config = Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/on/{Mac}"));
        // GRUB may ask twice in a row (a slow answer, a seek back over TFTP): one decision, one key.
        Assert.Equal(config, Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/on/{Mac}")));
        Assert.StartsWith("# Streamboot GRUB configuration: sb-pc1 (52:54:00:5e:00:01)\nset streamboot_answered=1\n", config, StringComparison.Ordinal);
        Assert.Contains("echo \"Streamboot: booting vDisk gold version 1 (write cache: server-disk); kernel and initrd over TFTP\"", config, StringComparison.Ordinal);
        var linux = Assert.Single(config.Split('\n'), l => l.StartsWith("if linux ", StringComparison.Ordinal));
        var kernelPath = LinuxPath().Match(linux);
        Assert.True(kernelPath.Success, linux);
        var token = kernelPath.Groups[1].Value;
        Assert.Contains(" console=ttyS0 quiet streamboot.url=http://127.0.0.1:", linux, StringComparison.Ordinal);
        Assert.Contains(" streamboot.export=gold/sb-pc1 ", linux, StringComparison.Ordinal);
        Assert.EndsWith(" BOOTIF=01-52-54-00-5e-00-01; then", linux, StringComparison.Ordinal);
        var key = KeyPath().Match(config).Groups[1].Value;
        Assert.Matches("^[0-9a-f]{32}$", key);
        Assert.NotEqual(key, token);
        Assert.DoesNotContain(key, linux, StringComparison.Ordinal);   // GRUB puts the kernel's path on the kernel command line

        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_boot, "vmlinuz")), await GetAsync($"streamboot/files/gold/sb-pc1/{token}/vmlinuz"));
        Assert.Equal("initrd of gold\n", Encoding.UTF8.GetString(await GetAsync($"streamboot/files/gold/sb-pc1/{token}/initrd.img")));
        Assert.Contains(key + "\n", Encoding.ASCII.GetString(await GetAsync($"streamboot/key/{key}/streamboot-key.cpio")), StringComparison.Ordinal);
        // A token of no boot opens nothing.
        var wrong = await CurlAsync($"streamboot/files/gold/sb-pc1/{new string('0', 32)}/vmlinuz");
        Assert.NotEqual(0, wrong.ExitCode);

        await _server!.WaitForOutputAsync("boots vDisk gold version 1 as sb-pc1 (platform efi, arch x86_64, Secure Boot chain, Secure Boot on)");
        await _server.WaitForOutputAsync("streamboot/key/KEY/streamboot-key.cpio");
        await _server.WaitForOutputAsync("streamboot/files/gold/sb-pc1/TOKEN/vmlinuz");
        Assert.DoesNotContain(key, _server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(token, _server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unsigned_kernel_is_refused_in_words_on_the_screen_in_the_log_and_in_session_list_while_secure_boot_is_on()
    {
        var kernel = Path.Combine(_boot, "vmlinuz");
        var sbattach = await ProcessRunner.RunAsync("sbattach", ["--remove", kernel]);
        Assert.True(sbattach.ExitCode == 0, $"sbattach (apt-get install sbsigntool): {sbattach}");

        var config = Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/on/{Mac}"));
        Assert.DoesNotContain("linux ", config, StringComparison.Ordinal);
        Assert.Contains("echo \"Streamboot: Secure Boot is on and the kernel of vDisk 'gold' version 1 (boot/vmlinuz) would be refused by shim: it carries no signature.", config, StringComparison.Ordinal);
        Assert.Contains("sleep 7", config, StringComparison.Ordinal);
        await _server!.WaitForOutputAsync($"Boot: refused {Mac} from 127.0.0.1 (KernelNotTrusted): Secure Boot is on and the kernel of vDisk 'gold'");

        var list = await _cli.OkAsync("session", "list");
        Assert.Contains("Refused boots", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("kernel-not-trusted", list.Stdout, StringComparison.Ordinal);
        var refused = Assert.Single((await _cli.JsonAsync("session", "list", "--refused")).EnumerateArray());
        Assert.Equal("sb-pc1", refused.GetProperty("device").GetString());
        Assert.Equal("gold", refused.GetProperty("vDisk").GetString());
        Assert.Equal("secure-boot", refused.GetProperty("loader").GetString());
        Assert.Equal("kernel-not-trusted", refused.GetProperty("reason").GetString());
        Assert.Contains("carries no signature", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await _cli.JsonAsync("session", "list")).GetArrayLength());   // --json stays the list of sessions

        // With Secure Boot off, GRUB starts any kernel: the same machine boots.
        Assert.Contains("if linux ", Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/off/{Mac}")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_machine_waits_its_turn_in_a_boot_storm_and_asks_again()
    {
        await _cli.OkAsync("device", "add", "52:54:00:5e:00:02", "--name", "sb-pc2", "--collection", "secure");
        await _cli.OkAsync("assign", "sb-pc2", "gold");
        Assert.Contains("if linux ", Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/on/{Mac}")), StringComparison.Ordinal);

        var waits = Encoding.UTF8.GetString(await GetAsync("streamboot/grub/on/52:54:00:5e:00:02"));
        Assert.DoesNotContain("linux ", waits, StringComparison.Ordinal);
        Assert.Contains("echo \"Streamboot: every server is booting as many clients as it may (1 now); sb-pc2 waits its turn", waits, StringComparison.Ordinal);
        // The bootstrap's loop asks the same path again after the wait.
        Assert.EndsWith("echo \"Streamboot: asking again in 4 s\"\nsleep 4\n", waits, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vdisk_grub_cannot_boot_is_refused_with_what_to_do()
    {
        await _cli.OkAsync("vdisk", "set", "gold", "--boot-protocol", "iscsi");
        var config = Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/on/{Mac}"));
        Assert.Contains("vDisk 'gold' boots by SAN boot over iscsi, which only iPXE does", config, StringComparison.Ordinal);
        Assert.Contains("'streamboot device set sb-pc1 --boot-loader ipxe'", config, StringComparison.Ordinal);

        await _cli.OkAsync("vdisk", "set", "gold", "--boot-protocol", "auto");
        File.Delete(Path.Combine(_boot, "vmlinuz"));
        config = Encoding.UTF8.GetString(await GetAsync($"streamboot/grub/off/{Mac}"));
        Assert.Contains("vDisk 'gold' has no kernel (boot/vmlinuz beside its images), and the Secure Boot chain (shim, GRUB) cannot SAN-boot a whole disk", config, StringComparison.Ordinal);
        var refused = Assert.Single((await _cli.JsonAsync("session", "list", "--refused")).EnumerateArray());
        Assert.Equal("loader-cannot-boot", refused.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task The_boot_loader_is_a_device_and_collection_setting_with_clear_refusals()
    {
        Assert.Equal("secure-boot", (await _cli.JsonAsync("collection", "show", "secure")).GetProperty("bootLoader").GetString());
        await _cli.OkAsync("device", "set", "sb-pc1", "--boot-loader", "ipxe");
        Assert.Equal("ipxe", (await _cli.JsonAsync("device", "show", "sb-pc1")).GetProperty("bootLoader").GetString());
        await _cli.OkAsync("device", "set", "sb-pc1", "--boot-loader", "inherit");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await _cli.JsonAsync("device", "show", "sb-pc1")).GetProperty("bootLoader").ValueKind);

        var bad = await _cli.RunAsync("device", "set", "sb-pc1", "--boot-loader", "shim");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("'shim' is not a boot loader; use ipxe, secure-boot (signed shim and GRUB, for Secure Boot), or inherit", bad.Stderr, StringComparison.Ordinal);
        var badCollection = await _cli.RunAsync("collection", "set", "secure", "--boot-loader", "inherit");
        Assert.Equal(2, badCollection.ExitCode);
        Assert.Contains("or auto (unset)", badCollection.Stderr, StringComparison.Ordinal);
    }

    private async Task<byte[]> GetAsync(string name)
    {
        var result = await CurlAsync(name);
        Assert.True(result.ExitCode == 0, $"curl tftp {name}: {result}");
        return await File.ReadAllBytesAsync(result.Stdout.Trim());
    }

    /// <summary>curl's TFTP client; the file goes to a temporary path, printed on stdout.</summary>
    private async Task<ProcessResult> CurlAsync(string name)
    {
        var file = _downloads.Combine(Guid.NewGuid().ToString("N"));
        var result = await ProcessRunner.RunAsync("curl", ["-s", "-S", "--max-time", "30", "-o", file, $"tftp://127.0.0.1:{Text(_tftpPort)}/{name}"], timeout: TimeSpan.FromSeconds(60));
        return result with { Stdout = file };
    }

    private static string Kernel()
    {
        var kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault();
        Assert.True(kernel is not null, "no /boot/vmlinuz-*: apt-get install linux-image-amd64 (test.sh installs it)");
        return kernel;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("""^if linux "\$streamboot/files/gold/sb-pc1/([0-9a-f]{32})/vmlinuz" """)]
    private static partial Regex LinuxPath();

    [GeneratedRegex("""\$streamboot/key/([0-9a-f]{32})/streamboot-key\.cpio""")]
    private static partial Regex KeyPath();
}
