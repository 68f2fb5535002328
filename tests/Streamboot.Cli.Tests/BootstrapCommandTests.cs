using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary><c>streamboot bootstrap</c>: the ISO it writes, read back with xorriso, and what it refuses. (A VM boots it in the VM boot tests.)</summary>
public sealed class BootstrapCommandTests : IDisposable
{
    private readonly StreambootCli _cli = new();
    private readonly TempFolder _out = new("bootstrap");

    [Fact]
    public async Task Writes_a_hybrid_iso_whose_script_chains_to_the_server()
    {
        var iso = Path.Combine(_out.Path, "boot.iso");
        var result = await _cli.OkAsync("bootstrap", "--out", iso, "--server", "10.9.8.7:8081");
        Assert.Contains("boots from http://10.9.8.7:8081", result.Stdout, StringComparison.Ordinal);

        var bytes = await File.ReadAllBytesAsync(iso);
        Assert.Equal(0x55, bytes[510]);   // an MBR: the image also boots written to a USB stick
        Assert.Equal(0xAA, bytes[511]);
        Assert.Equal("CD001", System.Text.Encoding.ASCII.GetString(bytes, 0x8001, 5));

        var extracted = Path.Combine(_out.Path, "streamboot.ipxe");
        var xorriso = await ProcessRunner.RunAsync(Tool("xorriso"), ["-osirrox", "on", "-indev", iso, "-extract", "/streamboot.ipxe", extracted]);
        Assert.True(xorriso.ExitCode == 0, xorriso.ToString());
        var script = await File.ReadAllTextAsync(extracted);
        Assert.StartsWith("#!ipxe\n", script, StringComparison.Ordinal);
        Assert.Contains("chain http://10.9.8.7:8081/boot.ipxe?mac=${net0/mac}&uuid=${uuid}&buildarch=${buildarch}&platform=${platform}", script, StringComparison.Ordinal);
        var listing = await ProcessRunner.RunAsync(Tool("xorriso"), ["-indev", iso, "-find", "/", "-type", "f"]);
        Assert.Contains("/ipxe.lkrn", listing.Stdout, StringComparison.Ordinal);
        Assert.Contains("/isolinux/isolinux.cfg", listing.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_an_efi_boot_image_with_shim_and_signed_grub_whose_configuration_asks_the_server_over_tftp()
    {
        var iso = Path.Combine(_out.Path, "uefi.iso");
        var result = await _cli.OkAsync("bootstrap", "--out", iso, "--server", "10.9.8.7:8081");
        Assert.Contains("UEFI machines, Secure Boot on or off, start shim and GRUB, which ask 10.9.8.7 over TFTP", result.Stdout, StringComparison.Ordinal);

        // El Torito has a BIOS and an EFI entry; on a stick, the MBR has an EFI System Partition (type 0xef) for UEFI firmware.
        var eltorito = await ProcessRunner.RunAsync(Tool("xorriso"), ["-indev", iso, "-report_el_torito", "plain", "-report_system_area", "plain"]);
        Assert.True(eltorito.ExitCode == 0, eltorito.ToString());
        Assert.Matches(@"El Torito boot img :\s+1\s+BIOS", eltorito.Stdout);
        Assert.Matches(@"El Torito boot img :\s+2\s+UEFI", eltorito.Stdout);
        Assert.Matches(@"El Torito img path :\s+2\s+/efiboot.img", eltorito.Stdout);
        Assert.Matches(@"MBR partition path :\s+2\s+/efiboot.img", eltorito.Stdout);
        var bytes = await File.ReadAllBytesAsync(iso);
        Assert.Contains(Enumerable.Range(0, 4), i => bytes[446 + (16 * i) + 4] == 0xEF);

        var efi = Path.Combine(_out.Path, "efiboot.img");
        var grubCfg = Path.Combine(_out.Path, "grub.cfg");
        var extract = await ProcessRunner.RunAsync(Tool("xorriso"), ["-osirrox", "on", "-indev", iso, "-extract", "/efiboot.img", efi, "-extract", "/grub/grub.cfg", grubCfg]);
        Assert.True(extract.ExitCode == 0, extract.ToString());
        var config = await File.ReadAllTextAsync(grubCfg);
        Assert.Contains("net_bootp", config, StringComparison.Ordinal);
        Assert.Contains("set net_default_server=10.9.8.7", config, StringComparison.Ordinal);
        Assert.Contains("source \"(tftp,10.9.8.7)/grub/grub.cfg\"", config, StringComparison.Ordinal);

        // The FAT image, read with mtools: shim at the removable-media path, Debian's signed network GRUB and the MOK manager beside it, and the same configuration.
        var listing = await ProcessRunner.RunAsync(Tool("mdir"), ["-i", efi, "-b", "::/EFI/BOOT"]);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Equal(["::/EFI/BOOT/BOOTX64.EFI", "::/EFI/BOOT/grubx64.efi", "::/EFI/BOOT/mmx64.efi"], listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        foreach (var (inImage, original) in new[]
        {
            ("::/EFI/BOOT/BOOTX64.EFI", "/usr/lib/shim/shimx64.efi.signed"),
            ("::/EFI/BOOT/grubx64.efi", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"),
            ("::/EFI/BOOT/mmx64.efi", "/usr/lib/shim/mmx64.efi.signed"),
            ("::/grub/grub.cfg", grubCfg),
        })
        {
            var copy = Path.Combine(_out.Path, "copy");
            var read = await ProcessRunner.RunAsync(Tool("mcopy"), ["-o", "-i", efi, inImage, copy]);
            Assert.True(read.ExitCode == 0, read.ToString());
            var expected = await File.ReadAllBytesAsync(original);
            var actual = await File.ReadAllBytesAsync(copy);
            Assert.True(expected.SequenceEqual(actual), $"{inImage} is not {original}");
        }
    }

    [Fact]
    public async Task Uses_the_http_port_when_the_server_is_given_without_one()
    {
        var iso = Path.Combine(_out.Path, "b.iso");
        _cli.Environment["STREAMBOOT_HTTP_PORT"] = "8123";
        var result = await _cli.OkAsync("bootstrap", "--out", iso, "--server", "192.168.1.5");
        Assert.Contains("boots from http://192.168.1.5:8123", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_bad_input_and_leaves_nothing_behind()
    {
        var iso = Path.Combine(_out.Path, "x.iso");
        var badServer = await _cli.RunAsync("bootstrap", "--out", iso, "--server", "ftp://host/path");
        Assert.Equal(2, badServer.ExitCode);
        Assert.Contains("is not a server address", badServer.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(iso));

        Assert.Equal(2, (await _cli.RunAsync("bootstrap", "--server", "10.0.0.1")).ExitCode);   // --out is required

        var noFolder = await _cli.RunAsync("bootstrap", "--out", Path.Combine(_out.Path, "missing", "x.iso"), "--server", "10.0.0.1");
        Assert.Equal(1, noFolder.ExitCode);
        Assert.Contains("does not exist", noFolder.Stderr, StringComparison.Ordinal);

        await File.WriteAllTextAsync(iso, "keep me");
        var exists = await _cli.RunAsync("bootstrap", "--out", iso, "--server", "10.0.0.1");
        Assert.Equal(1, exists.ExitCode);
        Assert.Contains("--force", exists.Stderr, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(iso));
        Assert.Equal(0, (await _cli.RunAsync("bootstrap", "--out", iso, "--server", "10.0.0.1", "--force")).ExitCode);
        Assert.Equal(["x.iso"], Directory.GetFiles(_out.Path).Select(Path.GetFileName));
    }

    private static string Tool(string name) =>
        ProcessRunner.Find(name) ?? throw new InvalidOperationException($"{name} is not installed; apt-get install {name} (test.sh installs it)");

    public void Dispose()
    {
        _cli.Dispose();
        _out.Dispose();
    }
}
