using System.Globalization;

namespace Streamboot.Server.Boot;

/// <summary>
/// What a boot script (iPXE's or GRUB's) is written for: where its URLs and
/// the kernel's <c>streamboot.*</c> parameters point (where the client reached
/// this server, or the server the farm placed the boot on) and how long menus
/// and messages wait.
/// </summary>
public sealed record BootScriptContext(string BaseUrl, string NbdHost, int NbdPort, int MenuTimeoutSeconds, int RetrySeconds)
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

    /// <summary>
    /// A context for a client that reached this server at <paramref name="host"/>
    /// (its HTTP Host, or the address a TFTP request came in on), with the
    /// server's settings for the rest.
    /// </summary>
    public static BootScriptContext For(string host, int httpPort, Configuration.StreambootOptions options, System.Net.IPAddress? local, System.Net.IPAddress? remote)
    {
        var hostForUrl = System.Net.IPAddress.TryParse(host, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !host.StartsWith('[') ? $"[{host}]" : host;
        var nbdHost = host.Trim('[', ']');
        return new BootScriptContext($"http://{hostForUrl}:{httpPort.ToString(CultureInfo.InvariantCulture)}", nbdHost, options.NbdPort, options.BootMenuSeconds, options.BootRetrySeconds)
        {
            QueueRetrySeconds = Math.Max(1, options.BootQueueRetrySeconds),
            IscsiPort = options.IscsiPort,
            IscsiBaseName = options.IscsiBaseName,
            IscsiMutualChap = options.IscsiMutualChap,
            ClientOnLink = Iscsi.OnLink.SameSubnet(local, remote),
            NbdTlsRequired = Nbd.NbdSettings.TryParseTls(options.Tls, out var tls) && tls == Protocols.Nbd.NbdTlsMode.Required,
        };
    }

    /// <summary>The script's URLs and ports on the server the farm placed the boot on (this one: unchanged).</summary>
    public BootScriptContext PlacedOn(Sessions.Farm.BootPlacement placement)
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
