using System.Globalization;
using System.Text;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Server.Boot;

/// <summary>
/// Renders a <see cref="BootDecision"/> as an iPXE script: a kernel boot
/// (kernel and initrds over HTTP, the session on the kernel command line:
/// <see cref="KernelParameters"/>), a SAN boot over HTTP or iSCSI, a menu,
/// the registration menu, a refusal or a wait, each asking again by itself.
/// <see cref="GrubScript"/> renders the same decisions for the Secure Boot
/// chain's GRUB.
/// </summary>
public static class IpxeScript
{
    /// <summary>Boot files a vDisk may keep beside its images, in <c>STORE/boot/</c>: the kernel, the initrd, extra kernel parameters.</summary>
    public const string KernelFile = BootFileNames.Kernel;
    public const string InitrdFile = BootFileNames.Initrd;
    public const string CmdlineFile = BootFileNames.Cmdline;

    public static string Render(BootDecision decision, BootScriptContext context) => decision switch
    {
        BootVDisk boot => Boot(boot, context),
        BootMenu menu => Menu(menu, context),
        RegistrationMenu registration => Registration(registration, context),
        BootRefused refused => Refused(refused, context),
        BootQueued queued => Queued(queued, context),
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, "unknown boot decision"),
    };

    /// <summary>
    /// The boot-script URL with iPXE's settings for who the client is, which iPXE fills in as it fetches it;
    /// <paramref name="mac"/> replaces ${net0/mac} where the MAC is known already (Streamboot's DHCP puts the
    /// client's own there: the NIC that asked, not always net0).
    /// </summary>
    public static string SelfDescribingUrl(string baseUrl, string mac = "${net0/mac}") =>
        $"{baseUrl}/boot.ipxe?mac={mac}&uuid=${{uuid}}&buildarch=${{buildarch}}&platform=${{platform}}";

    /// <summary>The answer to a request that names no client: iPXE asks again, saying who it is.</summary>
    public static string Identify(BootScriptContext context) =>
        $"#!ipxe\nchain --replace --autofree {SelfDescribingUrl(context.BaseUrl)}\n";

    /// <summary>
    /// What iPXE already knows of the network, for the kernel: the boot NIC
    /// (<c>BOOTIF</c>, as PXELINUX's IPAPPEND 2 gives it; the initramfs then
    /// configures that NIC, not the first that answers) and the address it
    /// was given (<c>streamboot.ip=ADDRESS:NETMASK:GATEWAY:DNS</c>, iPXE's
    /// settings of the NIC it booted from), so the client component
    /// configures it as is instead of asking DHCP a second time: a round of
    /// DHCP less per boot (1.3 to 1.9 s of the test OS's boot under TCG), and
    /// half the DHCP traffic of a boot storm. The same address, from the same
    /// lease, which the kernel never renews either way. Left out when the
    /// vDisk's own command line sets either itself.
    /// </summary>
    private static string NetworkParameters(string extra)
    {
        return string.Join(' ', new[]
        {
            KernelParameters.Sets(extra, "BOOTIF") ? "" : "BOOTIF=01-${netX/mac:hexhyp}",
            KernelParameters.Sets(extra, "ip") ? "" : "streamboot.ip=${netX/ip}:${netX/netmask}:${netX/gateway}:${netX/dns}",
        }.Where(p => p.Length > 0));
    }

    private static string Boot(BootVDisk boot, BootScriptContext context)
    {
        context = context.PlacedOn(boot.Placement);
        var s = Header($"{boot.Device.Name} ({boot.Device.Mac})");
        if (boot.Registered)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: registered this machine as {Text(boot.Device.Name)} in collection {Text(boot.Device.Collection)}");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: this is {Text(boot.Device.Name)}, machine id {boot.Device.MachineIdHex}");
        if (boot.Placement.Server is { } server)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: server {Text(server.Name)} streams this boot");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: booting vDisk {Text(boot.Target.VDisk)} version {boot.Target.Version} (write cache: {KebabCase.Of(boot.Target.WriteCacheMode)})");
        var files = Path.Combine(boot.Target.StoreFolder, "boot");
        var vdiskUrl = $"{context.BaseUrl}/boot/files/{Uri.EscapeDataString(boot.Target.VDisk)}";
        var withKey = $"?key={boot.Key}";
        if (boot.Target.Protocol == BootProtocol.Iscsi && context.IscsiPort > 0)
        {
            SanbootIscsi(s, boot, context);
        }
        else if (File.Exists(Path.Combine(files, KernelFile)) && boot.Target.Protocol != BootProtocol.Http)
        {
            var extra = KernelParameters.FromCmdlineFile(files);
            var hasInitrd = File.Exists(Path.Combine(files, InitrdFile));
            // initrd= names the pieces for a kernel started as an EFI program
            // (its stub loads them from iPXE by name); under BIOS iPXE hands
            // every initrd to the kernel, which unpacks them in order.
            // Without an initrd there is no client component to read the key.
            var initrds = hasInitrd ? $"initrd={InitrdFile} initrd={KeyArchive.FileName}" : "";
            var parameters = string.Join(' ', new[] { initrds, extra, KernelParameters.Session(boot, context), NetworkParameters(extra) }.Where(p => p.Length > 0));
            s.AppendLine(CultureInfo.InvariantCulture, $"kernel {vdiskUrl}/{KernelFile}{withKey} {parameters} || goto failed");
            if (hasInitrd)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"initrd {vdiskUrl}/{InitrdFile}{withKey} || goto failed");
                s.AppendLine(CultureInfo.InvariantCulture, $"initrd {context.BaseUrl}/boot/key/{boot.Key}/{KeyArchive.FileName} || goto failed");
            }

            s.AppendLine("boot || goto failed");
        }
        else
        {
            // A whole-disk image with its own boot loader: iPXE reads it over
            // HTTP range requests and hands it to the BIOS as drive 0x80.
            s.AppendLine("echo Streamboot: no kernel beside this vDisk; SAN-booting the whole disk over HTTP");
            // With a farm, every server's URL: iPXE's SAN paths fail over between them.
            var path = $"/vdisk/{Uri.EscapeDataString(boot.Target.VDisk)}/{Uri.EscapeDataString(boot.Device.Name)}/{boot.Key}";
            var urls = string.Join(' ', new[] { context.BaseUrl }.Concat(context.Alternates.Select(a => $"http://{UrlHost(a.Host)}:{a.HttpPort.ToString(CultureInfo.InvariantCulture)}")).Select(b => b + path));
            s.AppendLine(CultureInfo.InvariantCulture, $"sanboot --drive 0x80 {urls} || goto failed");
        }

        s.AppendLine(":failed");
        s.AppendLine("echo Streamboot: the boot failed (${errno}); trying again shortly");
        Retry(s, boot.Device.Mac, context);
        return s.ToString();
    }

    /// <summary>
    /// iPXE SAN-boots the device's own disk over iSCSI (CHAP: username the
    /// device, password the initiator secret of the boot's key; mutual CHAP
    /// with the target's secret) and describes it in the iBFT, where the OS
    /// (Windows, or a Linux initramfs with iscsistart -b) takes it over.
    /// </summary>
    private static void SanbootIscsi(StringBuilder s, BootVDisk boot, BootScriptContext context)
    {
        var target = Iscsi.IscsiNames.ForDevice(context.IscsiBaseName, boot.Target.VDisk, boot.Device.Name);
        s.AppendLine("echo Streamboot: SAN-booting over iSCSI; the OS takes the disk over from the iBFT");
        s.AppendLine(CultureInfo.InvariantCulture, $"set username {boot.Device.Name}");
        s.AppendLine(CultureInfo.InvariantCulture, $"set password {Iscsi.IscsiChapSecrets.Initiator(boot.Key)}");
        if (context.IscsiMutualChap)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"set reverse-username {target}");
            s.AppendLine(CultureInfo.InvariantCulture, $"set reverse-password {Iscsi.IscsiChapSecrets.Target(boot.Key)}");
        }

        if (context.ClientOnLink)
        {
            // No router between client and server: none in the iBFT either, or Windows sends its storage traffic there.
            // (Set on netX itself, it hides the DHCP-given gateway of netX.dhcp; clear would not.)
            s.AppendLine("set netX/gateway 0.0.0.0");
        }

        // One path: the iBFT describes it for the OS's initiator, which takes the disk over (no farm failover for iSCSI yet).
        s.AppendLine(CultureInfo.InvariantCulture, $"sanboot --keep --drive 0x80 iscsi:{UrlHost(context.NbdHost)}::{context.IscsiPort.ToString(CultureInfo.InvariantCulture)}:0:{target} || goto failed");
    }

    private static string Menu(BootMenu menu, BootScriptContext context)
    {
        var s = Header($"{menu.Device.Name} ({menu.Device.Mac})");
        s.AppendLine(CultureInfo.InvariantCulture, $"menu Streamboot: {Text(menu.Device.Name)} - choose a vDisk");
        for (var i = 0; i < menu.Items.Count; i++)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"item v{i} {Text(Label(menu.Items[i]))}{(i == menu.DefaultIndex ? " (default)" : "")}");
        }

        Choose(s, menu.DefaultIndex, context);
        for (var i = 0; i < menu.Items.Count; i++)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $":v{i}");
            s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: {Text(menu.Device.Name)} chose vDisk {Text(menu.Items[i].VDisk)}");
            s.AppendLine(CultureInfo.InvariantCulture, $"chain --replace --autofree {ScriptUrl(menu.Device.Mac, context)}&vdisk={Uri.EscapeDataString(menu.Items[i].VDisk)}");
        }

        return s.ToString();
    }

    private static string Registration(RegistrationMenu menu, BootScriptContext context)
    {
        var s = Header($"unregistered {menu.Mac}");
        s.AppendLine(CultureInfo.InvariantCulture, $"menu Streamboot: this machine ({menu.Mac}) is not registered - pick a vDisk to register it with");
        for (var i = 0; i < menu.Items.Count; i++)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"item v{i} {Text(Label(menu.Items[i]))}");
        }

        s.AppendLine("item --gap");
        s.AppendLine("item skip Do not register; boot from the next device");
        s.AppendLine("choose selected || goto skip");
        s.AppendLine("goto ${selected}");
        for (var i = 0; i < menu.Items.Count; i++)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $":v{i}");
            s.AppendLine(CultureInfo.InvariantCulture, $"chain --replace --autofree {ScriptUrl(menu.Mac, context)}&register={Uri.EscapeDataString(menu.Items[i].VDisk)}");
        }

        s.AppendLine(":skip");
        s.AppendLine("echo Streamboot: not registered; leaving network boot");
        s.AppendLine("exit 1");
        return s.ToString();
    }

    private static string Refused(BootRefused refused, BootScriptContext context)
    {
        var s = Header("refused");
        s.AppendLine("echo");
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: {Text(refused.Message)}");
        s.AppendLine("echo");
        // The machine tries again by itself: once an admin acts on the
        // message, it boots without anyone at its keyboard.
        Retry(s, null, context);
        return s.ToString();
    }

    /// <summary>A boot storm: the client waits its turn and asks the same server again (its place in the queue kept).</summary>
    private static string Queued(BootQueued queued, BootScriptContext context)
    {
        var s = Header($"{queued.Device.Name} ({queued.Device.Mac}) waits");
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: {Text(queued.Message)}");
        Retry(s, queued.Device.Mac, context, context.QueueRetrySeconds);
        return s.ToString();
    }

    private static StringBuilder Header(string about)
    {
        var s = new StringBuilder();
        s.AppendLine("#!ipxe");
        s.AppendLine(CultureInfo.InvariantCulture, $"# Streamboot boot script: {Comment(about)}");
        return s;
    }

    private static void Choose(StringBuilder s, int defaultIndex, BootScriptContext context)
    {
        var timeout = (context.MenuTimeoutSeconds * 1000).ToString(CultureInfo.InvariantCulture);
        s.AppendLine(CultureInfo.InvariantCulture, $"choose --default v{defaultIndex} --timeout {timeout} selected || goto v{defaultIndex}");
        s.AppendLine("goto ${selected}");
    }

    private static void Retry(StringBuilder s, string? mac, BootScriptContext context, int? seconds = null)
    {
        var wait = seconds ?? context.RetrySeconds;
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: asking again in {wait} s");
        s.AppendLine(CultureInfo.InvariantCulture, $"sleep {wait}");
        s.AppendLine(CultureInfo.InvariantCulture, $"chain --replace --autofree {(mac is null ? $"{context.BaseUrl}/boot.ipxe?mac=${{net0/mac}}" : ScriptUrl(mac, context))}");
    }

    private static string UrlHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    private static string ScriptUrl(string mac, BootScriptContext context) => $"{context.BaseUrl}/boot.ipxe?mac={mac}";

    private static string Label(BootMenuItem item) =>
        string.IsNullOrWhiteSpace(item.Description) ? item.VDisk : $"{item.VDisk} - {item.Description}";

    /// <summary>
    /// Text for <c>echo</c>, <c>menu</c> and <c>item</c>: iPXE expands
    /// <c>${...}</c> and may treat quotes and backslashes specially, so
    /// those and control characters are neutralised.
    /// </summary>
    private static string Text(string text)
    {
        var clean = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            clean.Append(c switch
            {
                '$' => "_",     // never a ${setting} expansion of the client's
                '\\' => "\\\\",
                '"' or '\'' => "",
                _ when char.IsControl(c) => " ",
                _ => c.ToString(),
            });
        }

        return clean.ToString();
    }

    private static string Comment(string text) => new([.. text.Select(c => char.IsControl(c) ? ' ' : c)]);
}
