namespace Streamboot.Vms;

/// <summary>
/// The files of one VM in its folder. The definition lives in the site
/// database; what belongs to a running QEMU (its PID, sockets, console log)
/// lives here, beside the disk, on the machine that runs it.
/// </summary>
public sealed class VmFolder(string path)
{
    /// <summary>sockaddr_un's sun_path is 108 bytes with its terminating NUL.</summary>
    public const int MaxSocketPathBytes = 107;

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>Everything the guest printed on its serial port since the VM last started.</summary>
    public string ConsoleLog => Combine("console.log");

    /// <summary>The log of the start before, kept when the VM starts again.</summary>
    public string PreviousConsoleLog => Combine("console.previous.log");

    /// <summary>The serial port as a socket: <c>vm console</c> attaches to it.</summary>
    public string ConsoleSocket => Combine("console.sock");

    /// <summary>QEMU's machine protocol (QMP): power-off, quit, status.</summary>
    public string QmpSocket => Combine("qmp.sock");

    public string PidFile => Combine("qemu.pid");

    /// <summary>How the running VM was started (accelerator, time), for <c>vm show</c>.</summary>
    public string RuntimeFile => Combine("runtime.json");

    /// <summary>The VM's own copy of the UEFI variable store.</summary>
    public string UefiVars => Combine("OVMF_VARS.fd");

    /// <summary>SeaBIOS's serial console port (fw_cfg <c>etc/sercon-port</c>), so BIOS and option ROM messages reach the console log too.</summary>
    public string SerconPort => Combine("sercon-port.bin");

    /// <summary>Attaches a bridged VM's tap device to its bridge (QEMU runs it as <c>script=</c>).</summary>
    public string BridgeScript => Combine("if-up.sh");

    /// <summary>The TPM's persistent state (swtpm's <c>--tpmstate dir=</c>): its keys, as a physical TPM keeps them across power cycles.</summary>
    public string TpmState => Combine("tpm");

    /// <summary>swtpm's control and data socket, which QEMU's TPM emulator connects to.</summary>
    public string TpmSocket => Combine("swtpm.sock");

    public string TpmPidFile => Combine("swtpm.pid");

    public string TpmLog => Combine("swtpm.log");

    /// <summary>Serial port <paramref name="index"/> (1 for COM2 ...) as a socket; port 0 is <see cref="ConsoleSocket"/>.</summary>
    public string SerialSocket(int index) => Combine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"serial{index}.sock"));

    /// <summary>The bridge script of network card <paramref name="index"/> (0, the first, is <see cref="BridgeScript"/>).</summary>
    public string BridgeScriptFor(int index) => index == 0 ? BridgeScript : Combine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"if-up-{index}.sh"));

    public string Combine(string name) => System.IO.Path.Combine(Path, name);
}
