using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Admin.Stores;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Server.Configuration;
using Streamboot.Sessions;
using Streamboot.Storage.Integrity;

namespace Streamboot.Server.Farm;

/// <summary>
/// Keeps this server's copies of a replicated store. Every pass (and
/// whenever a copy ends), for each frozen, hashed version of the site:
/// <list type="number">
/// <item>a copy whose row says verified, whose file is unchanged since
/// (same inode, change time and length) and that was hashed within the
/// scrub interval is trusted;</item>
/// <item>any other file found under the version's name is hashed: right
/// bytes make it verified (this is how an import made in this server's
/// data folder becomes a replica), wrong bytes make it corrupt: its row
/// says so before anything else (so opens are refused), and what this
/// server streams of it, or of a version above it, ends at once;</item>
/// <item>a missing or corrupt copy is fetched from a running server that
/// holds a verified one, the versions below it first, a few at once
/// (<see cref="ReplicaCopier"/>).</item>
/// </list>
/// Temporary files a crash left are deleted at the first pass; files of
/// versions deleted since this server verified them are deleted too.
/// A shared store needs none of this: the service then does nothing.
/// </summary>
internal sealed partial class ReplicaService : BackgroundService
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_lastRetry = TimeSpan.FromMinutes(2);
    private readonly AdminSite _site;
    private readonly ServerIdentity _identity;
    private readonly SessionLayer _sessions;
    private readonly ReplicaSettings _settings;
    private readonly StreambootOptions _options;

    // This server's own published addresses: the network interfaces are read once, not for every copy source.
    private readonly Lazy<IReadOnlyList<(System.Net.IPAddress Address, int Prefix)>> _ownAddresses;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ReplicaCopier _copier;
    private readonly BytePacer _scrubPace;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ConcurrentDictionary<long, Task> _copies = new();
    private readonly ConcurrentDictionary<long, (DateTimeOffset At, TimeSpan Wait)> _retry = new();
    private readonly ConcurrentDictionary<long, (string Path, string Stamp)> _placed = new();
    private bool _sweptLeftovers;

    public ReplicaService(AdminSite site, ServerIdentity identity, SessionLayer sessions, FarmSecret secret, ReplicaSettings settings, IOptions<StreambootOptions> options, TimeProvider clock, ILogger<ReplicaService> logger)
    {
        _site = site;
        _identity = identity;
        _sessions = sessions;
        _settings = settings;
        _options = options.Value;
        _ownAddresses = new(() => Sessions.Farm.ServerAddresses.Parse(PublishedAddresses.Of(_options)));
        _clock = clock;
        _logger = logger;
        _copier = new ReplicaCopier(secret, settings, clock, logger);
        _scrubPace = BytePacer.FromMiB(settings.ReplicaScrubMiBPerSecond, clock);
    }

    /// <summary>What one pass read from the database.</summary>
    private sealed record Snapshot(List<VDiskVersion> Versions, List<VersionReplica> Replicas, List<Data.Model.Server> Servers);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(1, _settings.ReplicaPassSeconds));
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await PassAsync(stoppingToken);
                }
                catch (Exception e) when (DbErrors.IsDatabaseFailure(e))
                {
                    LogPassFailed(_logger, e.Message);
                }

                await _wake.WaitAsync(interval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        try
        {
            await Task.WhenAll(_copies.Values);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override void Dispose()
    {
        _copier.Dispose();
        base.Dispose();
    }

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        if (_identity.Id == 0 || await _sessions.Store.KindAsync(cancellationToken) != StoreKind.Replicated)
        {
            return;
        }

        var snapshot = await ReadAsync(cancellationToken);
        if (!_sweptLeftovers)
        {
            SweepLeftovers(snapshot.Versions);
            _sweptLeftovers = true;
        }

        var mine = snapshot.Replicas.Where(r => r.ServerId == _identity.Id).ToDictionary(r => r.VersionId);
        var verifiedHere = mine.Values.Where(r => r.State == ReplicaState.Verified).Select(r => r.VersionId).ToHashSet();
        foreach (var version in snapshot.Versions.Where(v => v.ContentHash is not null && VersionContent.IsFrozen(v.VDisk!.AccessMode, v.Stage)).OrderBy(v => v.VDiskId).ThenBy(v => v.Number))
        {
            if (_copies.ContainsKey(version.Id))
            {
                continue;
            }

            var ofVDisk = snapshot.Versions.Where(v => v.VDiskId == version.VDiskId).ToList();
            var state = await CheckAsync(version, ofVDisk, mine.GetValueOrDefault(version.Id), cancellationToken);
            if (state == ReplicaState.Verified)
            {
                verifiedHere.Add(version.Id);
                continue;
            }

            verifiedHere.Remove(version.Id);
            var below = VersionChains.Of(version, ofVDisk).Skip(1).Where(v => VersionContent.IsFrozen(version.VDisk!.AccessMode, v.Stage));
            if (below.All(v => verifiedHere.Contains(v.Id)))
            {
                await StartCopyAsync(version, mine.GetValueOrDefault(version.Id), snapshot, cancellationToken);
            }
        }

        ForgetDeleted(snapshot.Versions);
    }

    private async Task<Snapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await using var db = _site.Database.CreateContext();
        var versions = await db.VDiskVersions.AsNoTracking().Include(v => v.VDisk).ToListAsync(cancellationToken);
        var replicas = await db.VersionReplicas.AsNoTracking().ToListAsync(cancellationToken);
        var servers = await db.Servers.AsNoTracking().ToListAsync(cancellationToken);
        return new Snapshot(versions, replicas, servers);
    }

    /// <summary>This server's copy of the version as it is now: verified (trusted or hashed right), or not.</summary>
    private async Task<ReplicaState> CheckAsync(VDiskVersion version, List<VDiskVersion> ofVDisk, VersionReplica? row, CancellationToken cancellationToken)
    {
        var vdisk = version.VDisk!;
        var path = ReplicaFiles.PathOf(_site, vdisk, version);
        if (path is null)
        {
            await RecordAsync(version.Id, ReplicaState.Missing, null, null, "its file name is not a plain name in the vDisk's folder", cancellationToken);
            return ReplicaState.Missing;
        }

        var stamp = ReplicaFiles.StampOf(path);
        var now = _clock.GetUtcNow().UtcDateTime;
        var scrub = TimeSpan.FromSeconds(Math.Max(1, _settings.ReplicaScrubSeconds));
        if (row is { State: ReplicaState.Verified } && stamp is not null && stamp == row.Stamp && row.HashSeen == version.ContentHash && now - row.CheckedAt < scrub)
        {
            _placed[version.Id] = (path, stamp);
            return ReplicaState.Verified;
        }

        if (row is { State: ReplicaState.Corrupt or ReplicaState.Missing } && stamp == row.Stamp)
        {
            // Known bad or absent, and unchanged since: no need to read it again.
            return row.State;
        }

        if (stamp is null)
        {
            if (row?.State == ReplicaState.Verified)
            {
                await RecordAsync(version.Id, ReplicaState.Missing, null, null, "its file disappeared", cancellationToken);
                LogLost(_logger, vdisk.Name, version.Number, "its file disappeared");
                await WithdrawAsync(version, ofVDisk);
            }
            else if (row is null or { State: ReplicaState.Copying })
            {
                await RecordAsync(version.Id, ReplicaState.Missing, null, null, null, cancellationToken);
            }

            return ReplicaState.Missing;
        }

        ContentDigest digest;
        try
        {
            digest = await ContentHash.OfFileAsync(path, _scrubPace.WaitAsync, cancellationToken);
        }
        catch (IOException e)
        {
            LogUnreadable(_logger, vdisk.Name, version.Number, e.Message);
            return row?.State ?? ReplicaState.Missing;
        }

        if (ReplicaFiles.StampOf(path) != stamp)
        {
            // Written while it was read: whatever it hashed to, look again next pass.
            return row?.State ?? ReplicaState.Missing;
        }

        if (digest.Sha256 == version.ContentHash && digest.Length == version.ContentLength)
        {
            await RecordAsync(version.Id, ReplicaState.Verified, digest.Sha256, stamp, null, cancellationToken);
            _placed[version.Id] = (path, stamp);
            if (row?.State != ReplicaState.Verified)
            {
                LogVerified(_logger, vdisk.Name, version.Number, digest.Short);
            }

            return ReplicaState.Verified;
        }

        // The row changes first: from this moment no open here accepts the copy.
        var why = $"its bytes hash to {digest.Short}, not {version.ContentHash![..12]}";
        await RecordAsync(version.Id, ReplicaState.Corrupt, digest.Sha256, stamp, why, cancellationToken);
        _placed.TryRemove(version.Id, out _);
        LogLost(_logger, vdisk.Name, version.Number, why);
        await WithdrawAsync(version, ofVDisk);
        return ReplicaState.Corrupt;
    }

    /// <summary>Ends what this server streams of the version and of every version whose chain reads it.</summary>
    private async Task WithdrawAsync(VDiskVersion version, List<VDiskVersion> ofVDisk)
    {
        var affected = ofVDisk.Where(v => VersionChains.Of(v, ofVDisk).Any(c => c.Id == version.Id)).Select(v => v.Id).ToHashSet();
        var ended = await _sessions.WithdrawVersionsAsync(affected);
        if (ended > 0)
        {
            LogWithdrawn(_logger, version.VDisk!.Name, version.Number, ended);
        }
    }

    private async Task StartCopyAsync(VDiskVersion version, VersionReplica? row, Snapshot snapshot, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        if (_copies.Count >= Math.Max(1, _settings.ReplicaCopiesAtOnce) || (_retry.TryGetValue(version.Id, out var retry) && retry.At > now))
        {
            return;
        }

        var sources = SourcesOf(version, snapshot);
        var vdisk = version.VDisk!;
        var state = row?.State is ReplicaState.Corrupt ? ReplicaState.Corrupt : ReplicaState.Missing;
        if (sources.Count == 0)
        {
            const string None = "no running server holds a verified copy to copy from";
            if (row?.Message != None)
            {
                await RecordAsync(version.Id, state, row?.HashSeen, row?.Stamp, None, cancellationToken);
            }

            return;
        }

        var path = ReplicaFiles.PathOf(_site, vdisk, version)!;
        await RecordAsync(version.Id, ReplicaState.Copying, row?.HashSeen, row?.Stamp, null, cancellationToken);
        _copies[version.Id] = Task.Run(
            async () =>
            {
                try
                {
                    var from = await _copier.CopyAsync(vdisk, version, path, sources, cancellationToken);
                    if (from is not null && ReplicaFiles.StampOf(path) is { } stamp)
                    {
                        await RecordAsync(version.Id, ReplicaState.Verified, version.ContentHash, stamp, null, CancellationToken.None);
                        _retry.TryRemove(version.Id, out _);
                        _placed[version.Id] = (path, stamp);
                    }
                    else
                    {
                        var wait = _retry.TryGetValue(version.Id, out var last) ? TimeSpan.FromTicks(Math.Min(last.Wait.Ticks * 2, s_lastRetry.Ticks)) : s_firstRetry;
                        _retry[version.Id] = (_clock.GetUtcNow() + wait, wait);
                        await RecordAsync(version.Id, state, row?.HashSeen, row?.Stamp, $"copying failed from {string.Join(", ", sources.Select(s => s.Name))} (the server log says why); trying again", CancellationToken.None);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or DbException or DbUpdateException)
                {
                    LogCopyFailed(_logger, vdisk.Name, version.Number, e.Message);
                }
                finally
                {
                    _copies.TryRemove(version.Id, out _);
                    _wake.Release();
                }
            },
            CancellationToken.None);
    }

    /// <summary>Running servers (fresh heartbeat, no clean stop) that hold a verified copy, in random order, with an address another server can reach.</summary>
    private List<ReplicaCopier.Source> SourcesOf(VDiskVersion version, Snapshot snapshot)
    {
        var fresh = _clock.GetUtcNow().UtcDateTime - TimeSpan.FromSeconds(3 * Math.Max(1, _options.HeartbeatSeconds));
        var holders = snapshot.Replicas.Where(r => r.VersionId == version.Id && r.State == ReplicaState.Verified && r.HashSeen == version.ContentHash && r.ServerId != _identity.Id)
            .Select(r => r.ServerId).ToHashSet();
        var sources = snapshot.Servers
            .Where(s => holders.Contains(s.Id) && s.StoppedAt is null && s.LastHeartbeatAt >= fresh)
            .Select(s => (Server: s, Address: ReachableAddress(s)))
            .Where(s => s.Address is not null)
            .Select(s => new ReplicaCopier.Source(s.Server.Name, s.Address!, s.Server.HttpPort))
            .ToList();
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sources));
        return sources;
    }

    /// <summary>
    /// Where this server reaches another: one of the addresses it publishes
    /// (preferring one on a subnet of this server's own), else its bind
    /// address when that is one (0.0.0.0 is no address to reach it by).
    /// </summary>
    private string? ReachableAddress(Data.Model.Server server)
    {
        var published = Sessions.Farm.ServerAddresses.Parse(server.Addresses);
        if (published.Count > 0)
        {
            var mine = _ownAddresses.Value;
            var local = published.FirstOrDefault(p => mine.Any(m => Sessions.Farm.ServerAddresses.SameSubnet(m.Address, p.Address, m.Prefix)));
            return (local.Address ?? published[0].Address).ToString();
        }

        return server.Address is not null && System.Net.IPAddress.TryParse(server.Address, out var ip) && !ip.Equals(System.Net.IPAddress.Any) && !ip.Equals(System.Net.IPAddress.IPv6Any)
            ? server.Address
            : null;
    }

    private async Task RecordAsync(long versionId, ReplicaState state, string? hashSeen, string? stamp, string? message, CancellationToken cancellationToken)
    {
        await using var db = _site.Database.CreateContext();
        var row = await db.VersionReplicas.FindAsync([versionId, _identity.Id], cancellationToken);
        if (row is null)
        {
            row = new VersionReplica { VersionId = versionId, ServerId = _identity.Id };
            db.VersionReplicas.Add(row);
        }

        row.State = state;
        row.HashSeen = hashSeen;
        row.Stamp = stamp;
        row.Message = message;
        row.CheckedAt = _clock.GetUtcNow().UtcDateTime;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (DbErrors.IsForeignKeyViolation(e))
        {
            // The version was deleted meanwhile: nothing to record.
        }
    }

    /// <summary>Deletes the temporary files of copies a crash cut short.</summary>
    private void SweepLeftovers(List<VDiskVersion> versions)
    {
        var removed = versions.Select(v => v.VDisk!).DistinctBy(v => v.Id).Sum(v => VerifiedFileWriter.RemoveLeftovers(_site.ResolveStorePath(v.StorePath)));
        if (removed > 0)
        {
            LogLeftovers(_logger, removed);
        }
    }

    /// <summary>Deletes this server's copies of versions deleted since it verified them (unless the file changed since: then it is not ours to delete).</summary>
    private void ForgetDeleted(List<VDiskVersion> versions)
    {
        var existing = versions.Select(v => v.Id).ToHashSet();
        foreach (var (id, (path, stamp)) in _placed.ToArray())
        {
            if (existing.Contains(id) || !_placed.TryRemove(id, out _))
            {
                continue;
            }

            if (ReplicaFiles.StampOf(path) == stamp && ReplicaFiles.TryDelete(path))
            {
                LogDeleted(_logger, Path.GetFileName(path));
            }
        }
    }

    [LoggerMessage(1024, LogLevel.Information, "Replica: vDisk {VDisk} version {Version} verified here (sha256 {Hash}...)")]
    private static partial void LogVerified(ILogger logger, string vdisk, int version, string hash);

    [LoggerMessage(1025, LogLevel.Error, "Replica: this server's copy of vDisk {VDisk} version {Version} is out of service: {Reason}; fetching a good copy")]
    private static partial void LogLost(ILogger logger, string vdisk, int version, string reason);

    [LoggerMessage(1026, LogLevel.Warning, "Replica: ended {Count} session(s) and view(s) that read vDisk {VDisk} version {Version} from the bad copy")]
    private static partial void LogWithdrawn(ILogger logger, string vdisk, int version, int count);

    [LoggerMessage(1027, LogLevel.Warning, "Replica: cannot read this server's copy of vDisk {VDisk} version {Version}: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string vdisk, int version, string reason);

    [LoggerMessage(1028, LogLevel.Warning, "Replica: copying vDisk {VDisk} version {Version} failed: {Reason}")]
    private static partial void LogCopyFailed(ILogger logger, string vdisk, int version, string reason);

    [LoggerMessage(1029, LogLevel.Information, "Replica: deleted {Count} temporary file(s) of copies cut short by a crash")]
    private static partial void LogLeftovers(ILogger logger, int count);

    [LoggerMessage(1030, LogLevel.Information, "Replica: deleted {File}, the copy of a version deleted from the site")]
    private static partial void LogDeleted(ILogger logger, string file);

    [LoggerMessage(1031, LogLevel.Warning, "Replica: a pass over the versions failed: {Reason}")]
    private static partial void LogPassFailed(ILogger logger, string reason);
}
