using System.Globalization;
using Streamboot.Data;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Server.Boot;

/// <summary>
/// The kernel command line of a kernel boot, the same whichever loader
/// (iPXE, or GRUB of the Secure Boot chain) starts the kernel. Everything a
/// client's OS needs to know about its session goes there as
/// <c>streamboot.*</c> parameters (the client boot component reads them;
/// <c>/boot/identity</c> answers the same for images booted another way),
/// except the boot's key, which goes in an initramfs piece of its own
/// (<see cref="KeyArchive"/>): the command line is readable by every user of
/// the running OS.
/// <code>
///   streamboot.url=http://SERVER:PORT        this server's HTTP base
///   streamboot.nbd=SERVER:PORT               its NBD endpoint
///   streamboot.export=VDISK/DEVICE           the device's own view (VDISK/DEVICE/KEY with the key)
///   streamboot.name=NAME                     computer name
///   streamboot.machine_id=HEX32              /etc/machine-id
///   streamboot.cache=server-disk|server-ram|client-disk|client-ram|none
///   streamboot.servers=HOST:PORT,...         a farm's other NBD endpoints: the same boot continues there if its server dies
/// </code>
/// </summary>
public static class KernelParameters
{
    /// <summary>The kernel parameters of a session (without the boot files' own).</summary>
    public static string Session(BootVDisk boot, BootScriptContext context) => string.Join(' ',
        $"streamboot.url={context.BaseUrl}",
        $"streamboot.nbd={context.NbdHost}:{context.NbdPort.ToString(CultureInfo.InvariantCulture)}",
        $"streamboot.export={boot.Target.Export}",
        $"streamboot.name={boot.Device.Name}",
        $"streamboot.machine_id={boot.Device.MachineIdHex}",
        $"streamboot.cache={KebabCase.Of(boot.Target.WriteCacheMode)}")
        + (context.NbdTlsRequired ? " streamboot.tls=on" : "")
        + (context.Alternates.Count > 0 ? $" streamboot.servers={string.Join(',', context.Alternates.Select(a => a.NbdEndpoint))}" : "");

    /// <summary>The vDisk's own parameters (<c>boot/cmdline</c>, words separated by blanks), or nothing.</summary>
    public static string FromCmdlineFile(string bootFolder)
    {
        var path = Path.Combine(bootFolder, BootFileNames.Cmdline);
        return File.Exists(path)
            ? string.Join(' ', File.ReadAllText(path).Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries))
            : "";
    }

    /// <summary>Whether the vDisk's own parameters set <paramref name="name"/> (<c>BOOTIF</c>, <c>ip</c>) themselves.</summary>
    public static bool Sets(string extra, string name) => extra.Split(' ').Any(w => w.StartsWith(name + "=", StringComparison.Ordinal));
}
