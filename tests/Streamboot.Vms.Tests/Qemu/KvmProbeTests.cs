using Streamboot.Testing;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests.Qemu;

public sealed class KvmProbeTests : IDisposable
{
    private readonly TempFolder _folder = new("vm-probe");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_probes_boot_sector_prints_its_marker_on_the_serial_port_under_emulation()
    {
        // What KVM must do for the probe to pass, shown to work where it surely runs: TCG.
        var image = _folder.Combine("probe.img");
        await File.WriteAllBytesAsync(image, KvmProbe.BootSector());
        var qemu = QemuSystem.Find() ?? throw new InvalidOperationException(QemuSystem.Missing());
        var result = await ProcessRunner.RunAsync(
            "timeout",
            ["20", qemu, "-accel", "tcg", "-m", "16", "-nodefaults", "-display", "none", "-serial", "stdio", "-drive", $"file={image},format=raw,if=floppy,readonly=on", "-boot", "a"]);
        Assert.Contains("SBKVM-OK", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(0x55, KvmProbe.BootSector()[510]);
        Assert.Equal(0xAA, KvmProbe.BootSector()[511]);
    }

    [Fact]
    public async Task The_answer_is_given_with_a_reason_and_the_second_ask_is_the_same()
    {
        var qemu = QemuSystem.Find() ?? throw new InvalidOperationException(QemuSystem.Missing());
        var first = await KvmProbe.ProbeAsync(qemu);
        var second = await KvmProbe.ProbeAsync(qemu);
        Assert.Equal(first, second);
        Assert.False(string.IsNullOrWhiteSpace(first.Reason));
        if (!File.Exists("/dev/kvm"))
        {
            Assert.False(first.Usable);
            Assert.Contains("/dev/kvm", first.Reason, StringComparison.Ordinal);
        }
    }
}
