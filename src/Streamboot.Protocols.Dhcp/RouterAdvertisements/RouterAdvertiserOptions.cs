namespace Streamboot.Protocols.Dhcp.RouterAdvertisements;

public sealed class RouterAdvertiserOptions
{
    /// <summary>The boot network's interface; advertisements go to ff02::1 there and nowhere else.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>Unsolicited advertisements this often (RFC 4861 allows 4 s to 1800 s).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Solicitations arriving closer together than this share one advertisement.</summary>
    public TimeSpan MinimumGap { get; init; } = TimeSpan.FromMilliseconds(200);
}
