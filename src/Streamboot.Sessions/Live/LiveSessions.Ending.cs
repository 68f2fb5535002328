namespace Streamboot.Sessions.Live;

/// <summary>
/// Sessions ended from outside their connections: their version was
/// deleted, or a newer boot of their device started on another server.
/// </summary>
internal sealed partial class LiveSessions
{
    /// <summary>
    /// The versions <paramref name="gone"/> were deleted (their vDisk
    /// deleted, rolled back or pruned) while clients still had them open:
    /// their sessions end now, and every later request of their connections
    /// fails. A client is never handed another disk's bytes under the old
    /// name; it connects again to get whatever the name means now.
    /// </summary>
    public async Task<int> EndVersionsAsync(IReadOnlySet<long> gone, string why = "was deleted")
    {
        List<LiveSession> live, parked;
        List<SharedViewHold> shared;
        lock (_lock)
        {
            live = [.. _byDevice.Values.Where(s => gone.Contains(s.VersionId))];
            parked = [.. _parked.Values.Where(s => gone.Contains(s.VersionId))];
            shared = [.. _shared.Where(h => gone.Contains(h.VersionId))];
            foreach (var p in parked)
            {
                _parked.Remove(p.DeviceId);
            }
        }

        foreach (var hold in shared)
        {
            hold.Counter.End($"vDisk '{hold.VDisk}' version {hold.Version} {why} while this client read it; connect again");
            LogVersionGone(logger, hold.VDisk, hold.Version, why, "a read-only view");
        }

        foreach (var session in live)
        {
            var gate = await _gates.EnterAsync(session.DeviceId);
            try
            {
                bool current;
                lock (_lock)
                {
                    current = _byDevice.TryGetValue(session.DeviceId, out var now) && now == session;
                }

                if (!current)
                {
                    // Its last connection went meanwhile; its session has ended.
                    continue;
                }

                session.Counter.End($"vDisk '{session.Facts.VDisk}' version {session.Version} {why} while {session.Facts.Device} ran it; restart the client");
                await EvictAsync(session);
            }
            finally
            {
                gate.Dispose();
            }

            LogVersionGone(logger, session.Facts.VDisk, session.Version, why, $"session {session.Facts.SessionId} of {session.Facts.Device}");
        }

        foreach (var p in parked)
        {
            await p.Stack.DisposeAsync();
        }

        return shared.Count + live.Count + parked.Count;
    }

    /// <summary>
    /// Ends the sessions here whose boot is no longer their device's running
    /// one: a newer boot of the device started on another server of the
    /// farm (on this one, <see cref="BeginAsync"/> ends them at once). Their
    /// connections fail from now on; the new boot's server may open the
    /// write cache once the row here is closed.
    /// </summary>
    public async Task<int> EndSupersededAsync(CancellationToken cancellationToken)
    {
        List<LiveSession> live, parked;
        lock (_lock)
        {
            live = [.. _byDevice.Values];
            parked = [.. _parked.Values];
        }

        if (live.Count + parked.Count == 0)
        {
            return 0;
        }

        var running = await credentials.RunningBootIdsAsync([.. live.Concat(parked).Select(s => s.DeviceId).Distinct()], cancellationToken);
        bool Superseded(LiveSession s) => running.TryGetValue(s.DeviceId, out var id) && id != s.BootId;
        var ended = 0;
        foreach (var session in live.Where(Superseded))
        {
            var gate = await _gates.EnterAsync(session.DeviceId, cancellationToken);
            try
            {
                bool current;
                lock (_lock)
                {
                    current = _byDevice.TryGetValue(session.DeviceId, out var now) && now == session;
                }

                if (current)
                {
                    session.Counter.End($"a newer boot of {session.Facts.Device} started on another server; this one is over");
                    await EvictAsync(session);
                    LogEvicted(logger, session.Facts.SessionId, session.Facts.Device ?? "", session.Remote ?? "");
                    ended++;
                }
            }
            finally
            {
                gate.Dispose();
            }
        }

        foreach (var p in parked.Where(Superseded))
        {
            bool removed;
            lock (_lock)
            {
                removed = _parked.TryGetValue(p.DeviceId, out var now) && now == p && _parked.Remove(p.DeviceId);
            }

            if (removed)
            {
                await p.Stack.DisposeAsync();
                ended++;
            }
        }

        return ended;
    }
}
