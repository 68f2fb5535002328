using Microsoft.Extensions.Logging;
using Streamboot.Data.Model;
using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Profiles;
using Streamboot.Sessions.Stores;
using Streamboot.Sessions.Views;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Stacks;

namespace Streamboot.Sessions.Live;

/// <summary>
/// The sessions this server streams, and the moment a boot starts. A
/// device's connections of one boot share one session and one stack; the
/// session ends in the database when its last connection goes. The first
/// open with a new boot's key starts that boot: the device's previous boot
/// ends (its lingering connections fail), its write cache is thrown away
/// unless persistent, and the new boot records a boot profile. Opens of one
/// device are serialized (striped gates); opens of different devices run
/// side by side.
/// </summary>
internal sealed partial class LiveSessions(
    SessionRecords records,
    BootCredentials credentials,
    ViewResolver resolver,
    SharedImages images,
    BootProfiles profiles,
    WriteCacheFiles files,
    SessionSettings settings,
    StoreGate store,
    ILogger logger) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, LiveSession> _byDevice = [];

    // RAM write caches of boots whose connections are gone: kept for the
    // boot's reconnect, since RAM has no file to reopen.
    private readonly Dictionary<long, LiveSession> _parked = [];

    // Read-only views (VDISK) open now: they keep no rows, only this.
    private readonly HashSet<SharedViewHold> _shared = [];
    private readonly DeviceGates _gates = new();
    private bool _disposing;
    private long _closedBytes;

    /// <summary>Bytes read and written by device sessions since this server started.</summary>
    public long BytesStreamed
    {
        get
        {
            lock (_lock)
            {
                return _closedBytes + _byDevice.Values.Sum(s => s.Counter.BytesRead + s.Counter.BytesWritten);
            }
        }
    }

    /// <summary>Device sessions live on this server now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byDevice.Count;
            }
        }
    }

    /// <summary>What the write caches of live sessions, and of RAM caches parked for a reconnect, weigh now.</summary>
    public long WriteCacheBytes
    {
        get
        {
            List<ComposedStack> stacks;
            lock (_lock)
            {
                stacks = [.. _byDevice.Values.Select(s => s.Stack), .. _parked.Values.Select(s => s.Stack)];
            }

            return stacks.Sum(s => s.WriteCacheBytes);
        }
    }

    /// <summary>A connection's own stack over the version's shared layers, read-only; no row, nothing shared but the cache.</summary>
    public SessionResult<SessionView> OpenShared(SharedTarget target)
    {
        ComposedStack stack;
        try
        {
            stack = SessionStack.Compose(new SessionStackPlan(target.Version.Id, target.TopFile, target.VDisk.SizeBytes, WriteCacheLayer.ReadOnly), images);
        }
        catch (Exception e) when (IsStorageFailure(e))
        {
            return StorageFailed(target.VDisk.Name, target.Version.Number, e);
        }

        var hold = new SharedViewHold(target.VDisk.Name, target.Version.Number, target.Version.Id, stack);
        lock (_lock)
        {
            _shared.Add(hold);
        }

        var facts = new ViewFacts(target.VDisk.Name, target.VDisk.Name, target.VDisk.Description, target.Version.Number, stack.Device.Size, ReadOnly: true, Device: null, WriteCacheMode: null, SessionId: 0, VersionId: target.Version.Id);
        return new SessionView(facts, hold.Counter, () => ReleaseShared(hold), () => hold.Counter.Ended);
    }

    /// <summary>The database ids of every version this server has open for a client (device sessions, parked RAM caches, read-only views).</summary>
    public IReadOnlySet<long> VersionIdsInUse()
    {
        lock (_lock)
        {
            return _byDevice.Values.Select(s => s.VersionId)
                .Concat(_parked.Values.Select(s => s.VersionId))
                .Concat(_shared.Select(h => h.VersionId))
                .ToHashSet();
        }
    }

    /// <summary>Opens or joins the device's session of the boot the target's key belongs to, starting that boot if it has not started.</summary>
    public async Task<SessionResult<SessionView>> OpenDeviceAsync(DeviceTarget target, string protocol, string? remote, CancellationToken cancellationToken)
    {
        var device = target.Device;
        var gate = await _gates.EnterAsync(device.Id, cancellationToken);
        try
        {
            if (MovedAwayRefusal(device, target.Boot.Id) is { } moved)
            {
                return moved;
            }

            LiveSession? live;
            lock (_lock)
            {
                _byDevice.TryGetValue(device.Id, out live);
            }

            if (live is not null && live.BootId == target.Boot.Id)
            {
                // A device's connections come from the device: another machine
                // presenting the same boot is refused, never joined.
                if (!BootPlanner.SameHost(live.Remote, remote))
                {
                    LogIdentityElsewhere(logger, device.Name, remote ?? "", live.Remote ?? "");
                    return new SessionError(SessionRefusal.IdentityInUse, $"{device.Name} is streaming to another machine now; one identity never runs twice");
                }

                live.Connections++;
                await NoteRootAsync(live, protocol);
                return View(live);
            }

            // The boot as it is now: another connection may have started it, or a newer boot replaced it.
            var boot = await credentials.MatchAsync(device.Id, target.Boot.Key, cancellationToken);
            if (boot is null)
            {
                return new SessionError(SessionRefusal.KeyRejected, $"that boot of {device.Name} is over: a newer boot of it has started; boot it again");
            }

            var versions = await resolver.VersionsAsync(target.VDisk.Id, cancellationToken);
            VDiskVersion? version;
            var newBoot = boot.StartedAt is null;
            if (newBoot)
            {
                var begun = await BeginAsync(target, boot, versions, remote, cancellationToken);
                if (!begun.Ok)
                {
                    return begun.Error;
                }

                version = begun.Value;
            }
            else
            {
                version = versions.Find(v => v.Number == boot.VersionNumber);
                if (version is null)
                {
                    return new SessionError(SessionRefusal.NoVersion, $"version {boot.VersionNumber} of vDisk '{target.VDisk.Name}', which this boot of {device.Name} started with, is gone; restart the client");
                }

                if (await store.RefusalAsync(target.VDisk, version, versions, cancellationToken) is { } notHere)
                {
                    return notHere;
                }

                if (live is not null)
                {
                    // A session of another boot of the device, left here while
                    // another server started the boot this key belongs to.
                    await EvictAsync(live);
                }
            }

            return await OpenAsync(target, boot, version, newBoot, protocol, remote, cancellationToken);
        }
        finally
        {
            gate.Dispose();
        }
    }

    /// <summary>
    /// Writes the counters of the live sessions that moved since the last
    /// report to the database (called periodically), in batches of one
    /// transaction: a server with a thousand clients commits a handful of
    /// times per report, not a thousand, and an idle client costs nothing.
    /// </summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        List<LiveSession> live;
        lock (_lock)
        {
            live = [.. _byDevice.Values];
        }

        var moved = new List<(LiveSession Session, SessionTraffic Traffic)>();
        foreach (var s in live)
        {
            var traffic = new SessionTraffic(s.Facts.SessionId, s.Counter.BytesRead, s.Counter.BytesWritten, s.Stack.WriteCacheBytes);
            if (traffic != s.Reported)
            {
                moved.Add((s, traffic));
            }
        }

        await records.UpdateAsync([.. moved.Select(m => m.Traffic)], cancellationToken);
        foreach (var (session, traffic) in moved)
        {
            session.Reported = traffic;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<LiveSession> parked, live;
        lock (_lock)
        {
            _disposing = true;
            parked = [.. _parked.Values];
            live = [.. _byDevice.Values];
            _parked.Clear();
        }

        foreach (var p in parked)
        {
            await p.Stack.DisposeAsync();
        }

        foreach (var s in live)
        {
            await EvictAsync(s);
        }
    }

    private async Task<SessionResult<SessionView>> OpenAsync(DeviceTarget target, Boot boot, VDiskVersion version, bool newBoot, string protocol, string? remote, CancellationToken cancellationToken)
    {
        var device = target.Device;
        var vdisk = target.VDisk;
        var mode = WriteCachePolicy.For(device, vdisk, version);
        var topFile = Path.Combine(target.StoreFolder, version.FileName);
        LiveSession? parked;
        lock (_lock)
        {
            _parked.Remove(device.Id, out parked);
        }

        var reuse = parked is not null && parked.BootId == boot.Id && parked.Version == version.Number;
        if (parked is not null && !reuse)
        {
            await parked.Stack.DisposeAsync();
        }

        if (!reuse && !newBoot && mode == WriteCacheMode.ServerRam)
        {
            // This boot wrote into RAM on a server that has restarted since
            // (or on another server of the farm, which died): those writes
            // are gone. A fresh cache under the running OS would hand it a
            // disk that silently lost acknowledged writes; refusing gives it an error.
            LogRamCacheLost(logger, device.Name, remote ?? "");
            return new SessionError(SessionRefusal.RamCacheLost, $"{device.Name}: this boot's server-RAM write cache was lost when the server restarted; restart the client");
        }

        // The live row first, the write cache after: while another server of
        // the farm still holds the session, this one must not open its files.
        var rootConnecting = IsRoot(protocol);
        var (sessionId, bootDuration) = await records.OpenAsync(device.Id, vdisk.Id, version.Number, protocol, remote, mode, BootTimes.Of(boot), rootConnecting, cancellationToken);
        if (sessionId is null)
        {
            if (reuse)
            {
                await parked!.Stack.DisposeAsync();
            }

            // Its client left that server (which died, or has not noticed yet): it continues here once that
            // server has let go, or is down. Until then the client is told to try again, not refused for good.
            return new SessionError(SessionRefusal.HeldElsewhere, $"{device.Name} is still live on another server; it continues here once that server lets it go or misses its heartbeats");
        }

        ComposedStack stack;
        if (reuse)
        {
            stack = parked!.Stack;
        }
        else
        {
            var composed = Compose(target, version, topFile, mode, newBoot);
            if (!composed.Ok)
            {
                await records.CloseAsync(sessionId.Value, 0, 0, 0);
                return composed.Error;
            }

            stack = composed.Value;
        }

        var readOnly = mode.OnClient();
        var facts = new ViewFacts($"{vdisk.Name}/{device.Name}", vdisk.Name, vdisk.Description, version.Number, stack.Device.Size, readOnly, device.Name, mode, sessionId.Value, version.Id);
        var live = new LiveSession(device.Id, boot.Id, version.Number, version.Id, facts, stack)
        {
            Remote = remote, Connections = 1, Mac = device.Mac, BootKey = boot.Key, BootIssuedAt = boot.IssuedAt,
            RootConnected = boot.RootConnectedAt is not null || rootConnecting,
        };
        lock (_lock)
        {
            _byDevice[device.Id] = live;
        }

        RecordBootDuration(bootDuration);

        LogOpened(logger, sessionId.Value, facts.Name, version.Number, protocol, remote ?? "");
        return View(live);
    }

    private SessionResult<ComposedStack> Compose(DeviceTarget target, VDiskVersion version, string topFile, WriteCacheMode mode, bool newBoot)
    {
        var device = target.Device.Name;
        var vdisk = target.VDisk.Name;
        var layer = mode switch
        {
            _ when mode.OnClient() => WriteCacheLayer.ReadOnly,
            WriteCacheMode.None => WriteCacheLayer.InPlace,
            WriteCacheMode.ServerRam => WriteCacheLayer.Ram,
            _ => WriteCacheLayer.Qcow2File,
        };
        var cacheFile = layer switch
        {
            WriteCacheLayer.Qcow2File => files.OverlayPath(vdisk, device, version.Number, version.Id),
            WriteCacheLayer.Ram => files.RamOverflowPath(vdisk, device, version.Number, version.Id),
            _ => null,
        };
        var recording = layer == WriteCacheLayer.InPlace ? null : profiles.Claim(vdisk, version.Number, newBoot);
        try
        {
            if (cacheFile is not null)
            {
                // Caches of the device's other versions are from earlier boots.
                files.DiscardOthers(vdisk, device, cacheFile);
            }

            var stack = SessionStack.Compose(
                new SessionStackPlan(version.Id, topFile, target.VDisk.SizeBytes, layer) { CacheFile = cacheFile, RamBytes = settings.RamWriteCacheBytes, Recording = recording },
                images);
            if (stack.Recorder is { } recorder)
            {
                profiles.Track(vdisk, version.Number, device, recorder);
            }

            return stack;
        }
        catch (Exception e) when (IsStorageFailure(e))
        {
            if (recording is not null)
            {
                profiles.Abandon(vdisk, version.Number);
            }

            return StorageFailed(vdisk, version.Number, e);
        }
    }

    /// <summary>Starts replaying the version's boot profile into its shared cache (a boot is starting); never fails the boot.</summary>
    public void WarmUp(string vdisk, VDiskVersion version, string topFile)
    {
        try
        {
            profiles.StartReplay(vdisk, version.Number, images.Acquire(version.Id, topFile));
        }
        catch (Exception e) when (IsStorageFailure(e))
        {
            // The warm-up is an optimisation: the session reports storage errors when it opens.
        }
    }

    private SessionView View(LiveSession live) => new(live.Facts, live.Counter, () => ReleaseAsync(live), () => live.Counter.Ended) { Moved = live.Counter.Moved };

    private async ValueTask ReleaseShared(SharedViewHold hold)
    {
        lock (_lock)
        {
            _shared.Remove(hold);
        }

        await hold.Stack.DisposeAsync();
    }

    private async ValueTask ReleaseAsync(LiveSession live)
    {
        // The gate is held until the session has ended in the database: a
        // client that reconnects the moment it disconnected must not find
        // its old session still live.
        var gate = await _gates.EnterAsync(live.DeviceId);
        try
        {
            if (live.Evicted || --live.Connections > 0)
            {
                return;
            }

            lock (_lock)
            {
                if (_byDevice.TryGetValue(live.DeviceId, out var current) && current == live)
                {
                    _byDevice.Remove(live.DeviceId);
                }
            }

            try
            {
                // The last connection is gone: make what it wrote durable, then end the session.
                await live.Counter.FlushAsync();
            }
            finally
            {
                var park = live.Facts.WriteCacheMode == WriteCacheMode.ServerRam;
                lock (_lock)
                {
                    park &= !_disposing;
                    if (park)
                    {
                        _parked[live.DeviceId] = live;
                    }
                }

                if (!park)
                {
                    await live.Stack.DisposeAsync();
                }

                Interlocked.Add(ref _closedBytes, live.Counter.BytesRead + live.Counter.BytesWritten);
                // Its client left (done, shut down, or gave up): it no longer counts as booting.
                await records.CloseAsync(live.Facts.SessionId, live.Counter.BytesRead, live.Counter.BytesWritten, live.Stack.WriteCacheBytes, live.BootId);
                LogClosed(logger, live.Facts.SessionId, live.Counter.BytesRead, live.Counter.BytesWritten);
            }
        }
        finally
        {
            gate.Dispose();
        }
    }

    /// <summary>Ends a session whose connections linger: they fail from now on.</summary>
    private async Task EvictAsync(LiveSession live)
    {
        lock (_lock)
        {
            live.Evicted = true;
            if (_byDevice.TryGetValue(live.DeviceId, out var current) && current == live)
            {
                _byDevice.Remove(live.DeviceId);
            }
        }

        try
        {
            await live.Stack.Device.FlushAsync();
        }
        catch (Exception e) when (IsStorageFailure(e))
        {
            // Its writes stay as durable as its last flush; the session ends anyway.
        }
        finally
        {
            live.Counter.End("this boot's session has ended: a newer boot of the device took over");
            await live.Stack.DisposeAsync();
            Interlocked.Add(ref _closedBytes, live.Counter.BytesRead + live.Counter.BytesWritten);
            await records.CloseAsync(live.Facts.SessionId, live.Counter.BytesRead, live.Counter.BytesWritten, live.Stack.WriteCacheBytes);
        }
    }

    private static bool IsStorageFailure(Exception e) => e is IOException or UnauthorizedAccessException or BlockDeviceException;

    private SessionError StorageFailed(string vdisk, int version, Exception e)
    {
        LogStorageFailed(logger, vdisk, version, e.Message);
        return new SessionError(SessionRefusal.StorageFailed, $"vDisk '{vdisk}' version {version} cannot be opened now; the server log says why");
    }

    [LoggerMessage(1100, LogLevel.Information, "Session {SessionId} opened: {View} version {Version} over {Protocol} from {Remote}")]
    private static partial void LogOpened(ILogger logger, long sessionId, string view, int version, string protocol, string remote);

    [LoggerMessage(1101, LogLevel.Information, "Session {SessionId} ended: {BytesRead} bytes read, {BytesWritten} written")]
    private static partial void LogClosed(ILogger logger, long sessionId, long bytesRead, long bytesWritten);

    [LoggerMessage(1102, LogLevel.Information, "New boot of {Device}: discarded {Files} write-cache file(s) of its last boot")]
    private static partial void LogDiscarded(ILogger logger, string device, int files);

    [LoggerMessage(1103, LogLevel.Warning, "Refused {Device} to {Remote}: its boot is streaming to {Holder} now")]
    private static partial void LogIdentityElsewhere(ILogger logger, string device, string remote, string holder);

    [LoggerMessage(1104, LogLevel.Warning, "Refused the reconnect of {Device} from {Remote}: its server-RAM write cache was lost when the server restarted")]
    private static partial void LogRamCacheLost(ILogger logger, string device, string remote);

    [LoggerMessage(1105, LogLevel.Warning, "Session {SessionId} of {Device} ended: a new boot of the machine started while the old boot's connections from {Remote} were still open (reset or power loss)")]
    private static partial void LogEvicted(ILogger logger, long sessionId, string device, string remote);

    [LoggerMessage(1110, LogLevel.Warning, "vDisk {VDisk} version {Version} {Why} while {Holder} had it open: ended; its connections get errors from now on")]
    private static partial void LogVersionGone(ILogger logger, string vdisk, int version, string why, string holder);

    [LoggerMessage(1108, LogLevel.Error, "Cannot open vDisk {VDisk} version {Version}: {Message}")]
    private static partial void LogStorageFailed(ILogger logger, string vdisk, int version, string message);
}
