using System.Net;
using System.Threading.RateLimiting;

namespace Streamboot.Admin.Access;

/// <summary>
/// Wrong credentials per client address, for the API and the console alike:
/// <see cref="Allowed"/> a minute, then refused unchecked until the minute is
/// over (a password check costs 0.3 s of CPU by design, so an address must
/// not keep the server busy checking its guesses). Addresses idle for a
/// minute are forgotten, so the table holds only the ones trying now.
/// </summary>
public sealed class CredentialThrottle : IDisposable
{
    public const int Allowed = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<IPAddress> _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions { PermitLimit = Allowed, Window = Window, QueueLimit = 0 }));

    /// <summary>Whether the address has failures left this minute (nothing is spent).</summary>
    public bool MayTry(IPAddress address) => _limiter.GetStatistics(address)?.CurrentAvailablePermits is not 0;

    public void Failed(IPAddress address) => _limiter.AttemptAcquire(address).Dispose();

    public void Dispose() => _limiter.Dispose();
}
