using System.Globalization;
using System.Text;
using Streamboot.Data;
using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Server.Boot;

/// <summary>
/// Renders a <see cref="BootDecision"/> as a GRUB configuration for the
/// Secure Boot chain: the firmware starts the Microsoft-signed shim, shim
/// starts Debian's signed network GRUB (<c>grubnetx64.efi.signed</c>), and
/// that GRUB, whose built-in prefix is <c>/grub</c> on the TFTP server it
/// came from, reads <see cref="BootstrapPath"/>. The bootstrap is the same for
/// every machine: it asks this server for the machine's own configuration
/// by MAC (<see cref="AskPath"/>), decided as iPXE's boot script is
/// (<see cref="IpxeScript"/>), and asks again while it is told to wait.
/// Everything goes over TFTP: Debian's signed GRUB has no HTTP.
/// <code>
///   grub/grub.cfg                                   the bootstrap
///   streamboot/grub/on|off/MAC[/vdisk/V|/register/V] a machine's configuration (Secure Boot on or off, as GRUB's lockdown says)
///   streamboot/files/VDISK/DEVICE/TOKEN/vmlinuz     the kernel (TOKEN: a hash of the boot's key, as GRUB puts the path on the command line)
///   streamboot/files/VDISK/DEVICE/TOKEN/initrd.img  the initrd
///   streamboot/key/KEY/streamboot-key.cpio          the boot's key as an initramfs piece
/// </code>
/// What GRUB's script cannot do as iPXE's does: a SAN boot (the planner
/// refuses those vDisks to GRUB with a message), the network parameters
/// iPXE fills in (GRUB knows no netmask or gateway: the client component
/// asks DHCP again), and a menu choice by a key press within the timeout
/// is GRUB's own menu, drawn with its own characters.
/// </summary>
public static class GrubScript
{
    /// <summary>Where Debian's signed network GRUB looks for its configuration (its prefix is /grub; it tries grub/x86_64-efi/grub.cfg first).</summary>
    public const string BootstrapPath = "grub/grub.cfg";

    /// <summary>The folder of everything generated per machine.</summary>
    public const string Folder = "streamboot";

    /// <summary>Each served configuration sets this; the bootstrap asks again when a fetch did not (no answer, no file).</summary>
    private const string Answered = "set streamboot_answered=1";

    /// <summary>The request path of a machine's configuration, after <see cref="Folder"/>: <c>grub/on/MAC</c>.</summary>
    public static string AskPath(bool secureBoot, string mac) => $"grub/{(secureBoot ? "on" : "off")}/{mac}";

    /// <summary>
    /// The bootstrap: <c>$streamboot</c> is this server's folder over TFTP,
    /// <c>$streamboot_sb</c> whether Secure Boot is on (GRUB sets
    /// <c>lockdown=y</c> when the firmware enforces it), and
    /// <c>streamboot_ask SUFFIX</c> fetches and runs the machine's
    /// configuration until it boots or shows a menu. Both are exported, so
    /// menu entries (which run in a context of their own) see them.
    /// </summary>
    public static string Bootstrap(BootScriptContext context)
    {
        var s = new StringBuilder();
        s.AppendLine("# Streamboot: the Secure Boot chain's first GRUB configuration, the same for every machine");
        s.AppendLine("# (streamboot serve's TFTP answers it as grub/grub.cfg; a file DATA/tftp/grub/grub.cfg replaces it).");
        s.AppendLine("# It asks the server for this machine's own, decided as iPXE's boot script is.");
        s.AppendLine("set streamboot=\"(tftp,$net_default_server)/" + Folder + "\"");
        s.AppendLine("export streamboot");
        s.AppendLine("if [ \"$lockdown\" = \"y\" ]; then set streamboot_sb=on; else set streamboot_sb=off; fi");
        s.AppendLine("export streamboot_sb");
        s.AppendLine("function streamboot_ask {");
        s.AppendLine("  while true; do");
        s.AppendLine("    set streamboot_answered=");
        s.AppendLine("    set streamboot_menu=");
        s.AppendLine("    source \"$streamboot/grub/$streamboot_sb/$net_default_mac$1\"");
        s.AppendLine("    if [ -z \"$streamboot_answered\" ]; then");
        s.AppendLine(CultureInfo.InvariantCulture, $"      echo \"Streamboot: no answer from $net_default_server; asking again in {context.RetrySeconds} s\"");
        s.AppendLine(CultureInfo.InvariantCulture, $"      sleep {context.RetrySeconds}");
        s.AppendLine("    elif [ -n \"$streamboot_menu\" ]; then");
        s.AppendLine("      return");
        s.AppendLine("    fi");
        s.AppendLine("  done");
        s.AppendLine("}");
        s.AppendLine("echo \"Streamboot: GRUB of the Secure Boot chain (Secure Boot $streamboot_sb), asking $net_default_server for this machine ($net_default_mac)\"");
        s.AppendLine("streamboot_ask \"\"");
        return s.ToString();
    }

    public static string Render(BootDecision decision, BootScriptContext context) => decision switch
    {
        BootVDisk boot => Boot(boot, context),
        BootMenu menu => Menu(menu, context),
        RegistrationMenu registration => Registration(registration),
        BootRefused refused => Refused(refused, context),
        BootQueued queued => Queued(queued, context),
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, "unknown boot decision"),
    };

    /// <summary>The path of a vDisk's boot file for this boot, after <see cref="Folder"/>.</summary>
    public static string FilePath(BootVDisk boot, string file) =>
        $"files/{boot.Target.VDisk}/{boot.Device.Name}/{BootKey.FileToken(boot.Key)}/{file}";

    /// <summary>The path of the boot key's initramfs piece, after <see cref="Folder"/>.</summary>
    public static string KeyPath(string key) => $"key/{key}/{KeyArchive.FileName}";

    private static string Boot(BootVDisk boot, BootScriptContext context)
    {
        context = context.PlacedOn(boot.Placement);
        var s = Header($"{boot.Device.Name} ({boot.Device.Mac})");
        if (boot.Registered)
        {
            Echo(s, $"registered this machine as {boot.Device.Name} in collection {boot.Device.Collection}");
        }

        Echo(s, $"this is {boot.Device.Name}, machine id {boot.Device.MachineIdHex}");
        if (boot.Placement.Server is { } server)
        {
            Echo(s, $"server {server.Name} streams this boot");
        }

        Echo(s, $"booting vDisk {boot.Target.VDisk} version {boot.Target.Version} (write cache: {KebabCase.Of(boot.Target.WriteCacheMode)}); kernel and initrd over TFTP");
        var files = Path.Combine(boot.Target.StoreFolder, BootFileNames.Folder);
        var extra = KernelParameters.FromCmdlineFile(files);
        var parameters = new List<string>(extra.Split(' ', StringSplitOptions.RemoveEmptyEntries)) { KernelParameters.Session(boot, context) };
        if (!KernelParameters.Sets(extra, "BOOTIF"))
        {
            // The boot NIC, as PXELINUX's IPAPPEND 2 gives it: the initramfs configures that one.
            parameters.Add($"BOOTIF=01-{boot.Device.Mac.Replace(':', '-')}");
        }

        var words = string.Join(' ', parameters.SelectMany(p => p.Split(' ')).Select(Word));
        s.AppendLine(CultureInfo.InvariantCulture, $"if linux {TftpFile(FilePath(boot, BootFileNames.Kernel))} {words}; then");
        if (File.Exists(Path.Combine(files, BootFileNames.Initrd)))
        {
            // GRUB hands the kernel both pieces as one initramfs, the key's after the vDisk's own.
            s.AppendLine(CultureInfo.InvariantCulture, $"  if initrd {TftpFile(FilePath(boot, BootFileNames.Initrd))} {TftpFile(KeyPath(boot.Key))}; then");
            s.AppendLine("    boot");
            s.AppendLine("  fi");
        }
        else
        {
            s.AppendLine("  boot");
        }

        s.AppendLine("fi");
        Echo(s, $"the boot failed; asking again in {context.RetrySeconds} s");
        s.AppendLine(CultureInfo.InvariantCulture, $"sleep {context.RetrySeconds}");
        return s.ToString();
    }

    private static string Menu(BootMenu menu, BootScriptContext context)
    {
        var s = Header($"{menu.Device.Name} ({menu.Device.Mac})");
        Echo(s, $"{menu.Device.Name} - choose a vDisk");
        s.AppendLine("set streamboot_menu=1");
        s.AppendLine(CultureInfo.InvariantCulture, $"set timeout={context.MenuTimeoutSeconds}");
        s.AppendLine(CultureInfo.InvariantCulture, $"set default={menu.DefaultIndex}");
        for (var i = 0; i < menu.Items.Count; i++)
        {
            var item = menu.Items[i];
            s.AppendLine(CultureInfo.InvariantCulture, $"menuentry {Quote(Label(item) + (i == menu.DefaultIndex ? " (default)" : ""))} {{");
            Echo(s, $"{menu.Device.Name} chose vDisk {item.VDisk}", "  ");
            s.AppendLine(CultureInfo.InvariantCulture, $"  streamboot_ask {Quote("/vdisk/" + item.VDisk)}");
            s.AppendLine("}");
        }

        return s.ToString();
    }

    /// <summary>No timeout, as iPXE's: a machine registers only when someone picks a vDisk.</summary>
    private static string Registration(RegistrationMenu menu)
    {
        var s = Header($"unregistered {menu.Mac}");
        Echo(s, $"this machine ({menu.Mac}) is not registered - pick a vDisk to register it with");
        s.AppendLine("set streamboot_menu=1");
        s.AppendLine("set timeout=-1");
        foreach (var item in menu.Items)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"menuentry {Quote(Label(item))} {{");
            s.AppendLine(CultureInfo.InvariantCulture, $"  streamboot_ask {Quote("/register/" + item.VDisk)}");
            s.AppendLine("}");
        }

        s.AppendLine("menuentry \"Do not register; boot from the next device\" {");
        Echo(s, "not registered; leaving network boot", "  ");
        s.AppendLine("  exit 1");
        s.AppendLine("}");
        return s.ToString();
    }

    private static string Refused(BootRefused refused, BootScriptContext context)
    {
        var s = Header("refused");
        s.AppendLine("echo");
        Echo(s, refused.Message);
        s.AppendLine("echo");
        // As iPXE's: the machine asks again by itself, and boots once an admin has acted.
        Echo(s, $"asking again in {context.RetrySeconds} s");
        s.AppendLine(CultureInfo.InvariantCulture, $"sleep {context.RetrySeconds}");
        return s.ToString();
    }

    private static string Queued(BootQueued queued, BootScriptContext context)
    {
        var s = Header($"{queued.Device.Name} ({queued.Device.Mac}) waits");
        Echo(s, queued.Message);
        Echo(s, $"asking again in {context.QueueRetrySeconds} s");
        s.AppendLine(CultureInfo.InvariantCulture, $"sleep {context.QueueRetrySeconds}");
        return s.ToString();
    }

    private static StringBuilder Header(string about)
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"# Streamboot GRUB configuration: {Comment(about)}");
        s.AppendLine(Answered);
        return s;
    }

    private static void Echo(StringBuilder s, string text, string indent = "") =>
        s.Append(indent).Append("echo ").AppendLine(Quote("Streamboot: " + text));

    /// <summary>A file of this server's folder over TFTP, as GRUB names it.</summary>
    private static string TftpFile(string relative) => "\"$streamboot/" + Escape(relative) + "\"";

    private static string Label(BootMenuItem item) =>
        string.IsNullOrWhiteSpace(item.Description) ? item.VDisk : $"{item.VDisk} - {item.Description}";

    /// <summary>
    /// A kernel parameter as one GRUB word: as it is when it holds nothing
    /// GRUB's script reads specially, else in double quotes.
    /// </summary>
    private static string Word(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ',' or ':' or '/' or '=' or '+' or '@' or '%' or '-')
            ? word
            : Quote(word);

    /// <summary>
    /// Text in double quotes for GRUB's script: inside them GRUB expands
    /// <c>$variables</c> and reads backslashes, so <c>$</c>, <c>"</c> and <c>\</c>
    /// are escaped (never a <c>${setting}</c> of the client's) and control
    /// characters become spaces.
    /// </summary>
    private static string Quote(string text) => "\"" + Escape(text) + "\"";

    private static string Escape(string text)
    {
        var clean = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            clean.Append(c switch
            {
                '$' or '"' or '\\' => "\\" + c,
                _ when char.IsControl(c) => " ",
                _ => c.ToString(),
            });
        }

        return clean.ToString();
    }

    private static string Comment(string text) => new([.. text.Select(c => char.IsControl(c) ? ' ' : c)]);
}
