namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>
/// Waits for server-side state (counters, log lines, leases) that is updated
/// just after the reply is sent, so a client can be quicker than it.
/// </summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }
}
