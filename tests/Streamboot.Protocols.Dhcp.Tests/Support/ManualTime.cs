namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>A clock the test moves by hand (lease expiry, decline quarantine).</summary>
public sealed class ManualTime : TimeProvider
{
    private DateTimeOffset _now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
