using Streamboot.Admin.Views;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>
/// Whether a server's row belongs to a running server: it beats every
/// heartbeat interval, so three intervals without one (and never less than
/// 30 s, for a database that blinks) means it is gone.
/// </summary>
public static class ServerLiveness
{
    public static TimeSpan Grace(TimeSpan heartbeat) => TimeSpan.FromTicks(Math.Max(3 * heartbeat.Ticks, TimeSpan.FromSeconds(30).Ticks));

    public static ServerState StateOf(Server row, DateTime utcNow, TimeSpan heartbeat) => StateAfter(row, utcNow, Grace(heartbeat));

    /// <summary>As <see cref="StateOf"/>, with the farm's own "down after" time instead of the heartbeat-derived grace.</summary>
    public static ServerState StateAfter(Server row, DateTime utcNow, TimeSpan downAfter) =>
        row.StoppedAt is not null ? ServerState.Stopped
        : utcNow - row.LastHeartbeatAt > downAfter ? ServerState.MissingHeartbeats
        : ServerState.Running;
}
