using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Live;

/// <summary>What became of a request to move a session off this server.</summary>
internal enum MoveOutcome
{
    Moved,

    /// <summary>The session is not live here (it ended, or it is another boot's).</summary>
    NotHere,

    /// <summary>Its write cache is in this server's RAM: moving it would lose acknowledged writes.</summary>
    Unmovable,
}

/// <summary>
/// Sessions moved to another server of the farm (rebalancing, drain
/// --move). The session ends here as for a newer boot, except that its
/// connections are dropped instead of answered with errors (the client's
/// OS never sees a failed request; its connection keeper resends them), and
/// its boot's reconnects here are refused as temporary for
/// <see cref="SessionSettings.MovedRefusal"/>, so the keeper goes on to the
/// next server of its list, which opens the closed row and the same write
/// cache (on shared storage).
/// </summary>
internal sealed partial class LiveSessions
{
    // Device id -> the boot moved away and until when (Stopwatch ticks) its reconnects are refused.
    private readonly Dictionary<long, (long BootId, long Until)> _movedAway = [];

    /// <summary>Moves the device's session <paramref name="sessionId"/> off this server, if it is live here and may move.</summary>
    public async Task<MoveOutcome> MoveAsync(long deviceId, long sessionId, string reason, CancellationToken cancellationToken)
    {
        var gate = await _gates.EnterAsync(deviceId, cancellationToken);
        LiveSession? session;
        try
        {
            lock (_lock)
            {
                if (!_byDevice.TryGetValue(deviceId, out session) || session.Facts.SessionId != sessionId)
                {
                    return MoveOutcome.NotHere;
                }

                if (session.Facts.WriteCacheMode == WriteCacheMode.ServerRam)
                {
                    return MoveOutcome.Unmovable;
                }

                // Refused before the session ends: a connection that fails
                // from here on reconnects and finds this server saying "elsewhere".
                _movedAway[deviceId] = (session.BootId, Stopwatch.GetTimestamp() + (long)(settings.MovedRefusal.TotalSeconds * Stopwatch.Frequency));
            }

            session.Counter.EndMoved($"the session of {session.Facts.Device} moved to another server");
            await EvictAsync(session);
        }
        finally
        {
            gate.Dispose();
        }

        session.Counter.DropConnections();
        LogMoved(logger, session.Facts.SessionId, session.Facts.Device ?? "", reason, (int)settings.MovedRefusal.TotalSeconds);
        return MoveOutcome.Moved;
    }

    /// <summary>A reconnect of a boot that just moved away: refused as temporary, so it goes to another server.</summary>
    private SessionError? MovedAwayRefusal(Device device, long bootId)
    {
        lock (_lock)
        {
            if (!_movedAway.TryGetValue(device.Id, out var moved))
            {
                return null;
            }

            if (Stopwatch.GetTimestamp() >= moved.Until)
            {
                _movedAway.Remove(device.Id);
                return null;
            }

            return moved.BootId == bootId
                ? new SessionError(SessionRefusal.MovedAway, $"{device.Name} moved to another server of the farm; connect to the next one in the list")
                : null;
        }
    }

    [LoggerMessage(1120, LogLevel.Information, "Session {SessionId} of {Device} moved off this server ({Reason}); its reconnects here are refused for {Seconds} s so it continues on another server")]
    private static partial void LogMoved(ILogger logger, long sessionId, string device, string reason, int seconds);
}
