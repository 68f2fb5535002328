using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Views;

namespace Streamboot.Sessions.Live;

/// <summary>
/// Another connection of a boot whose session is live on this server (NBD
/// multi-conn, fio's jobs, a connection keeper's reconnect while the old
/// connection lingers) joins the session on what the server holds in
/// memory: the name's vDisk and device are the session's, its key is the
/// boot's, and it comes from the host the session streams to. Nothing is
/// read from the database, and the join gives the connection no more than
/// the boot's open connections already have. So a device disabled or
/// unassigned meanwhile keeps its running boot, as its open connections do
/// (its next boot is refused), and a boot superseded on another server of
/// the farm ends at this server's next maintenance pass, joined connections
/// with it. Anything else (no live session here, another key, another
/// host) takes the full path through the database.
/// </summary>
internal sealed partial class LiveSessions
{
    /// <summary>The live session <paramref name="name"/> belongs to, joined; null when the full path must decide.</summary>
    public async Task<SessionView?> TryJoinAsync(ViewName name, string protocol, string? remote, CancellationToken cancellationToken)
    {
        if (name.Device is not { } device || name.Key is not { } key)
        {
            return null;
        }

        var mac = MacAddress.TryParse(device, out var parsed) ? parsed.ToString() : null;
        device = device.Trim();
        LiveSession? found = null;
        lock (_lock)
        {
            foreach (var session in _byDevice.Values)
            {
                if (mac is not null ? session.Mac == mac : string.Equals(session.Facts.Device, device, StringComparison.OrdinalIgnoreCase))
                {
                    found = session;
                    break;
                }
            }
        }

        if (found is null
            || !string.Equals(found.Facts.VDisk, name.VDisk.Trim(), StringComparison.OrdinalIgnoreCase)
            || !BootKey.Matches(found.BootKey, key)
            || !BootPlanner.SameHost(found.Remote, remote))
        {
            return null;
        }

        var gate = await _gates.EnterAsync(found.DeviceId, cancellationToken);
        try
        {
            lock (_lock)
            {
                // Its last connection may have gone, or a newer boot ended it, while this one waited.
                if (found.Evicted || found.Connections == 0 || found.Counter.Ended || !_byDevice.TryGetValue(found.DeviceId, out var current) || current != found)
                {
                    return null;
                }
            }

            found.Connections++;
        }
        finally
        {
            gate.Dispose();
        }

        // A SAN boot's OS joins the session iPXE opened: its root is connected now.
        await NoteRootAsync(found, protocol);
        return View(found);
    }
}
