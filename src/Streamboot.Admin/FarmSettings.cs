namespace Streamboot.Admin;

/// <summary>
/// The settings of the site's servers that admin answers depend on: when a
/// server without heartbeats counts as down (<c>server list</c>, <c>server
/// remove</c>, rebalancing), how long a client counts as booting, and which
/// port a netboot VM behind QEMU's NAT is sent to when no server runs.
/// Whoever makes an <see cref="AdminSite"/> sets them from its configuration
/// (<c>STREAMBOOT_SERVER_DOWN_SECONDS</c>, ...); the defaults are those of the configuration.
/// </summary>
public sealed record FarmSettings(TimeSpan ServerDownAfter, TimeSpan BootingWindow, TimeSpan Heartbeat, int HttpPort)
{
    public static FarmSettings Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(10), 8080);
}
