using System.Globalization;
using System.Text;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Server.Boot;

/// <summary>
/// Renders a <see cref="BootDecision"/> as an iPXE script. Everything a
/// client's OS needs to know about its session goes on the kernel command
/// line as <c>streamboot.*</c> parameters (the client boot component reads
/// them; <c>/boot/identity</c> answers the same for images booted another
/// way), except the boot's key, which goes in an initramfs piece of its own
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
public static class IpxeScript
{
    /// <summary>Where the script's URLs point and how long menus and messages wait.</summary>
    public sealed record Context(string BaseUrl, string NbdHost, int NbdPort, int MenuTimeoutSeconds, int RetrySeconds)
    {
        /// <summary>Seconds a client waiting its turn in a boot storm sleeps before it asks again.</summary>
        public int QueueRetrySeconds { get; init; } = 5;

        /// <summary>The iSCSI port (0: iSCSI is off, and an iscsi boot falls back to HTTP).</summary>
        public int IscsiPort { get; init; } = 3260;

        public string IscsiBaseName { get; init; } = Iscsi.IscsiNames.DefaultBaseName;

        public bool IscsiMutualChap { get; init; } = true;

        /// <summary>The client is on this server's subnet: the iBFT gets no gateway (<see cref="Iscsi.OnLink"/>).</summary>
        public bool ClientOnLink { get; init; }

        /// <summary>The NBD server requires TLS (<c>--tls require</c>): the client component must connect its root through it.</summary>
        public bool NbdTlsRequired { get; init; }

        /// <summary>Other servers of the farm that may continue the boot if its own dies.</summary>
        public IReadOnlyList<Sessions.Farm.FarmServer> Alternates { get; init; } = [];

        /// <summary>The script's URLs and ports on the server the farm placed the boot on (this one: unchanged).</summary>
        public Context PlacedOn(Sessions.Farm.BootPlacement placement)
        {
            var alternates = placement.Alternates;
            if (placement.Server is not { } server)
            {
                return this with { Alternates = alternates };
            }

            var host = server.Host.Contains(':', StringComparison.Ordinal) ? $"[{server.Host}]" : server.Host;
            return this with
            {
                BaseUrl = $"http://{host}:{server.HttpPort.ToString(CultureInfo.InvariantCulture)}",
                NbdHost = server.Host,
                NbdPort = server.NbdPort,
                IscsiPort = server.IscsiPort,
                Alternates = alternates,
            };
        }
    }

    /// <summary>Boot files a vDisk may keep beside its images, in <c>STORE/boot/</c>: the kernel, the initrd, extra kernel parameters.</summary>
    public const string KernelFile = "vmlinuz";
    public const string InitrdFile = "initrd.img";
    public const string CmdlineFile = "cmdline";

    public static string Render(BootDecision decision, Context context) => decision switch
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
    public static string Identify(Context context) =>
        $"#!ipxe\nchain --replace --autofree {SelfDescribingUrl(context.BaseUrl)}\n";

    /// <summary>The kernel parameters of a session (without the boot files' own).</summary>
    public static string SessionParameters(BootVDisk boot, Context context) => string.Join(' ',
        $"streamboot.url={context.BaseUrl}",
        $"streamboot.nbd={context.NbdHost}:{context.NbdPort.ToString(CultureInfo.InvariantCulture)}",
        $"streamboot.export={boot.Target.Export}",
        $"streamboot.name={boot.Device.Name}",
        $"streamboot.machine_id={boot.Device.MachineIdHex}",
        $"streamboot.cache={KebabCase.Of(boot.Target.WriteCacheMode)}")
        + (context.NbdTlsRequired ? " streamboot.tls=on" : "")
        + (context.Alternates.Count > 0 ? $" streamboot.servers={string.Join(',', context.Alternates.Select(a => a.NbdEndpoint))}" : "");

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
        var words = extra.Split(' ');
        return string.Join(' ', new[]
        {
            words.Any(w => w.StartsWith("BOOTIF=", StringComparison.Ordinal)) ? "" : "BOOTIF=01-${netX/mac:hexhyp}",
            words.Any(w => w.StartsWith("ip=", StringComparison.Ordinal)) ? "" : "streamboot.ip=${netX/ip}:${netX/netmask}:${netX/gateway}:${netX/dns}",
        }.Where(p => p.Length > 0));
    }

    private static string Boot(BootVDisk boot, Context context)
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
            var extra = File.Exists(Path.Combine(files, CmdlineFile))
                ? string.Join(' ', File.ReadAllText(Path.Combine(files, CmdlineFile)).Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries))
                : "";
            var hasInitrd = File.Exists(Path.Combine(files, InitrdFile));
            // initrd= names the pieces for a kernel started as an EFI program
            // (its stub loads them from iPXE by name); under BIOS iPXE hands
            // every initrd to the kernel, which unpacks them in order.
            // Without an initrd there is no client component to read the key.
            var initrds = hasInitrd ? $"initrd={InitrdFile} initrd={KeyArchive.FileName}" : "";
            var parameters = string.Join(' ', new[] { initrds, extra, SessionParameters(boot, context), NetworkParameters(extra) }.Where(p => p.Length > 0));
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
    private static void SanbootIscsi(StringBuilder s, BootVDisk boot, Context context)
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

    private static string Menu(BootMenu menu, Context context)
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

    private static string Registration(RegistrationMenu menu, Context context)
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

    private static string Refused(BootRefused refused, Context context)
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
    private static string Queued(BootQueued queued, Context context)
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

    private static void Choose(StringBuilder s, int defaultIndex, Context context)
    {
        var timeout = (context.MenuTimeoutSeconds * 1000).ToString(CultureInfo.InvariantCulture);
        s.AppendLine(CultureInfo.InvariantCulture, $"choose --default v{defaultIndex} --timeout {timeout} selected || goto v{defaultIndex}");
        s.AppendLine("goto ${selected}");
    }

    private static void Retry(StringBuilder s, string? mac, Context context, int? seconds = null)
    {
        var wait = seconds ?? context.RetrySeconds;
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot: asking again in {wait} s");
        s.AppendLine(CultureInfo.InvariantCulture, $"sleep {wait}");
        s.AppendLine(CultureInfo.InvariantCulture, $"chain --replace --autofree {(mac is null ? $"{context.BaseUrl}/boot.ipxe?mac=${{net0/mac}}" : ScriptUrl(mac, context))}");
    }

    private static string UrlHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    private static string ScriptUrl(string mac, Context context) => $"{context.BaseUrl}/boot.ipxe?mac={mac}";

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
