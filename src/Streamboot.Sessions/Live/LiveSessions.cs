using Microsoft.Extensions.Logging;
using Streamboot.Admin;

namespace Streamboot.Server.Streaming;

/// <summary>
/// The live sessions of this server. A device's connections (NBD multi-conn,
/// a reconnect while the old connection lingers) share one session and one
/// block device, so they see one another's writes; the session ends in the
/// database when its last connection goes. Bare read-only exports get a
/// session per connection.
/// </summary>
public sealed partial class SessionRegistry(Func<StreamingSessions> sessions, WriteCacheStore caches, ILogger<SessionRegistry> logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposing;
    private readonly List<Shared> _byDevice = [];

    // RAM write caches whose connections are gone: kept for the device's
    // reconnect within the same boot, since RAM has no file to reopen.
    private readonly List<Shared> _parked = [];

    /// <summary>Opens (or joins) the session of an export.</summary>
    public async Task<AdminResult<SessionLease>> AcquireAsync(string export, string protocol, string? remoteAddress, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Find(export) is { } joined)
            {
                // A device's connections come from the device: another machine
                // presenting the same identity is refused, never joined.
                if (joined.Remote is not null && remoteAddress is not null && !Admin.Boot.BootPlanner.SameHost(joined.Remote, remoteAddress))
                {
                    LogIdentityElsewhere(logger, export, remoteAddress, joined.Remote);
                    return AdminError.Refused($"device '{joined.Plan.Device}' is streaming to {joined.Remote} now; one identity never runs twice (see 'streamboot session list')");
                }

                joined.Connections++;
                return new SessionLease(joined.Plan, joined.Device, () => ReleaseAsync(joined));
            }

            var plan = await sessions().OpenAsync(export, protocol, remoteAddress, cancellationToken);
            if (!plan.Ok)
            {
                return plan.Error;
            }

            CountingBlockDevice device;
            Func<long> cacheBytes;
            try
            {
                var parked = _parked.Find(p => p.Plan.VDisk == plan.Value.VDisk && p.Plan.Device == plan.Value.Device && p.Plan.Version == plan.Value.Version);
                foreach (var old in _parked.Where(p => p.Plan.VDisk == plan.Value.VDisk && p.Plan.Device == plan.Value.Device).ToList())
                {
                    _parked.Remove(old);
                    if (old != parked)
                    {
                        await old.Device.DisposeAsync();
                    }
                }

                if (parked is not null)
                {
                    device = parked.Device;
                    cacheBytes = parked.CacheBytes;
                }
                else if (plan.Value.ContinuesBoot && plan.Value.WriteCacheMode == Data.Model.WriteCacheMode.ServerRam)
                {
                    // This boot wrote into RAM on this server, which has
                    // restarted since: those writes are gone. A fresh cache
                    // under the running OS would hand it a disk that silently
                    // lost acknowledged writes; refusing gives it an error.
                    await sessions().CloseAsync(plan.Value.SessionId, 0, 0, 0, CancellationToken.None);
                    LogRamCacheLost(logger, plan.Value.Device!, remoteAddress ?? "");
                    return AdminError.Refused($"device '{plan.Value.Device}': this boot's server-RAM write cache was lost when the server restarted; restart the client");
                }
                else
                {
                    var stack = caches.Open(plan.Value);
                    device = new CountingBlockDevice(stack.Device);
                    cacheBytes = stack.WriteCacheBytes;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Storage.BlockDevices.BlockDeviceException)
            {
                await sessions().CloseAsync(plan.Value.SessionId, 0, 0, 0, CancellationToken.None);
                return AdminError.Failed($"cannot open vDisk '{plan.Value.VDisk}' version {plan.Value.Version}: {e.Message}");
            }

            var shared = new Shared(plan.Value, device, cacheBytes) { Connections = 1, Remote = remoteAddress };
            if (plan.Value.Device is not null)
            {
                _byDevice.Add(shared);
            }

            LogOpened(logger, plan.Value.SessionId, export, plan.Value.Version, protocol, remoteAddress ?? "");
            return new SessionLease(plan.Value, device, () => ReleaseAsync(shared));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A device asked for its boot script: a new boot begins. What its last
    /// boot wrote is thrown away (a standard image boots clean every time)
    /// unless its write cache is persistent. A session of the device still
    /// live here belongs to its previous boot (the boot planner refuses a
    /// boot script to another machine under a live identity): the machine
    /// was reset or lost power and its connections never closed. That
    /// session is ended first; its lingering connections fail.
    /// </summary>
    public async Task NewBootAsync(string device, bool persistent)
    {
        await _gate.WaitAsync();
        try
        {
            foreach (var stale in _byDevice.Where(s => string.Equals(s.Plan.Device, device, StringComparison.OrdinalIgnoreCase)).ToList())
            {
                _byDevice.Remove(stale);
                stale.Evicted = true;
                try
                {
                    await stale.Device.FlushAsync();
                }
                finally
                {
                    await stale.Device.DisposeAsync();
                    await sessions().CloseAsync(stale.Plan.SessionId, stale.Device.BytesRead, stale.Device.BytesWritten, stale.CacheBytes(), CancellationToken.None);
                    LogEvicted(logger, stale.Plan.SessionId, device, stale.Remote ?? "");
                }
            }

            foreach (var old in _parked.Where(p => string.Equals(p.Plan.Device, device, StringComparison.OrdinalIgnoreCase)).ToList())
            {
                _parked.Remove(old);
                await old.Device.DisposeAsync();
            }

            await sessions().NewBootAsync(device);
            if (!persistent)
            {
                var discarded = caches.Discard(device);
                if (discarded > 0)
                {
                    LogDiscarded(logger, device, discarded);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes every live session's counters to the database (called periodically).</summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        List<Shared> live;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            live = [.. _byDevice];
        }
        finally
        {
            _gate.Release();
        }

        foreach (var s in live)
        {
            await sessions().UpdateAsync(s.Plan.SessionId, s.Device.BytesRead, s.Device.BytesWritten, s.CacheBytes(), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        foreach (var parked in _parked)
        {
            await parked.Device.DisposeAsync();
        }

        _parked.Clear();
        foreach (var shared in _byDevice.ToList())
        {
            shared.Connections = 1;
            await ReleaseAsync(shared);
        }
    }

    private async ValueTask ReleaseAsync(Shared shared)
    {
        // The gate is held until the session has ended in the database: a
        // client that reconnects the moment it disconnected must not find
        // its old session still live.
        await _gate.WaitAsync();
        try
        {
            if (shared.Evicted || --shared.Connections > 0)
            {
                return;
            }

            _byDevice.Remove(shared);
            try
            {
                // The last connection is gone: make what it wrote durable, then end the session.
                await shared.Device.FlushAsync();
            }
            finally
            {
                if (shared.Plan.WriteCacheMode == Data.Model.WriteCacheMode.ServerRam && shared.Plan.Device is not null && !_disposing)
                {
                    _parked.Add(shared);
                }
                else
                {
                    await shared.Device.DisposeAsync();
                }

                await sessions().CloseAsync(shared.Plan.SessionId, shared.Device.BytesRead, shared.Device.BytesWritten, shared.CacheBytes(), CancellationToken.None);
                LogClosed(logger, shared.Plan.SessionId, shared.Device.BytesRead, shared.Device.BytesWritten);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The live session a device export names, by device name or any spelling of its MAC.</summary>
    private Shared? Find(string export)
    {
        var slash = export.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return null;
        }

        var vdisk = export[..slash];
        var key = export[(slash + 1)..];
        var mac = MacAddress.TryParse(key, out var parsed) ? parsed.ToString() : null;
        return _byDevice.Find(s =>
            string.Equals(s.Plan.VDisk, vdisk, StringComparison.OrdinalIgnoreCase) &&
            (string.Equals(s.Plan.Device, key, StringComparison.OrdinalIgnoreCase) || (mac is not null && s.Plan.Mac == mac)));
    }

    [LoggerMessage(1100, LogLevel.Information, "Session {SessionId} opened: {Export} version {Version} over {Protocol} from {Remote}")]
    private static partial void LogOpened(ILogger logger, long sessionId, string export, int version, string protocol, string remote);

    [LoggerMessage(1101, LogLevel.Information, "Session {SessionId} ended: {BytesRead} bytes read, {BytesWritten} written")]
    private static partial void LogClosed(ILogger logger, long sessionId, long bytesRead, long bytesWritten);

    [LoggerMessage(1103, LogLevel.Warning, "Refused {Export} to {Remote}: the identity is streaming to {Holder} now")]
    private static partial void LogIdentityElsewhere(ILogger logger, string export, string remote, string holder);

    [LoggerMessage(1105, LogLevel.Warning, "Session {SessionId} of {Device} ended: the machine ({Remote}) started a new boot while the old boot's connections were still open (reset or power loss)")]
    private static partial void LogEvicted(ILogger logger, long sessionId, string device, string remote);

    [LoggerMessage(1104, LogLevel.Warning, "Refused the reconnect of {Device} from {Remote}: its server-RAM write cache was lost when the server restarted")]
    private static partial void LogRamCacheLost(ILogger logger, string device, string remote);

    [LoggerMessage(1102, LogLevel.Information, "New boot of {Device}: discarded {Files} write-cache file(s) of its last boot")]
    private static partial void LogDiscarded(ILogger logger, string device, int files);

    private sealed class Shared(StreamPlan plan, CountingBlockDevice device, Func<long> cacheBytes)
    {
        public Func<long> CacheBytes { get; } = cacheBytes;

        public StreamPlan Plan { get; } = plan;

        public CountingBlockDevice Device { get; } = device;

        public int Connections { get; set; }

        /// <summary>Ended by a new boot of its machine while connections of the old boot lingered.</summary>
        public bool Evicted { get; set; }

        /// <summary>Where the session's first connection came from.</summary>
        public string? Remote { get; init; }
    }
}
