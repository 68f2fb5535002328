using Microsoft.Extensions.Logging;
using Streamboot.Admin;
using Streamboot.Data.Model;
using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Farm;
using Streamboot.Sessions.Live;
using Streamboot.Sessions.Profiles;
using Streamboot.Sessions.Stores;
using Streamboot.Sessions.Views;
using Streamboot.Storage.Stacks;

namespace Streamboot.Sessions;

/// <summary>
/// The session layer of one server: <see cref="IBootSessions"/> over the
/// site database, the vDisk stores and this server's live sessions. Each
/// request walks forward once: parse the name, resolve it in the database
/// (<see cref="ViewResolver"/>), open or join the session
/// (<see cref="LiveSessions"/>), compose its stack (Storage's
/// <see cref="SessionStack"/>).
/// </summary>
public sealed partial class SessionLayer : IBootSessions, IAsyncDisposable
{
    private readonly SessionSettings _settings;
    private readonly BootCredentials _credentials;
    private readonly BootPlanner _planner;
    private readonly RefusedBoots _refusedBoots;
    private readonly LoaderChoice _loaders;
    private readonly ViewResolver _resolver;
    private readonly SessionRecords _records;
    private readonly LiveSessions _live;
    private readonly SessionRebalancing _rebalancing;
    private readonly ILogger _logger;
    private readonly ILogger _bootLogger;
    private readonly Data.SiteDatabase _database;

    public SessionLayer(AdminSite site, SessionSettings settings, BootProfileSettings profileSettings, Func<long?> serverId, ILoggerFactory loggers, TimeProvider? clock = null)
    {
        clock ??= site.Clock;
        _settings = settings;
        _database = site.Database;
        _logger = loggers.CreateLogger("Streamboot.Sessions");
        _bootLogger = loggers.CreateLogger("Streamboot.Boot");
        _credentials = new BootCredentials(site.Database, settings, clock);
        Store = new StoreGate(site, serverId, clock);
        Placement = new ServerPlacement(site.Database, settings, serverId, clock)
        {
            // Only servers whose copy of the version is verified (every server, on a shared store).
            Holders = async (version, cancellationToken) => (await Store.HoldersAsync(version, cancellationToken)).ToHashSet(),
        };
        KernelSignatures = new Storage.BootFiles.KernelSignatures(settings.SecureBootShim, settings.SecureBootCertificates);
        _planner = new BootPlanner(site, settings, _credentials, Placement, new SecureBootChain(KernelSignatures));
        _refusedBoots = new RefusedBoots(site.Database, serverId, clock);
        _loaders = new LoaderChoice(site.Database, clock);
        _resolver = new ViewResolver(site, settings, _credentials);
        _records = new SessionRecords(site.Database, serverId, settings.ServerDownAfter, clock);
        Images = new SharedImages(settings.ReadCacheBytes, clock) { StorageReadLatency = settings.StorageReadLatency };
        Profiles = new BootProfiles(site.DataFolder, profileSettings, loggers.CreateLogger("Streamboot.Sessions.Profiles"));
        Caches = new WriteCacheFiles(site.DataFolder);
        _live = new LiveSessions(_records, _credentials, _resolver, Images, Profiles, Caches, settings, Store, _logger);
        _rebalancing = new SessionRebalancing(site, settings, serverId, _live, clock, loggers.CreateLogger("Streamboot.Sessions.Rebalancing"));
    }

    /// <summary>Whether this server may serve a version (replicated stores), and which servers may.</summary>
    public StoreGate Store { get; }
    /// <summary>The signature checks of vDisks' kernels for Secure Boot clients (and what they trust).</summary>
    public Storage.BootFiles.KernelSignatures KernelSignatures { get; }

    /// <summary>Where new boots go in a farm.</summary>
    internal ServerPlacement Placement { get; }

    /// <summary>Every version's shared layers (read caches), for counters, tests and benchmarks.</summary>
    public SharedImages Images { get; }

    /// <summary>Boot-profile recording and replay.</summary>
    public BootProfiles Profiles { get; }

    internal WriteCacheFiles Caches { get; }

    /// <summary>The server-disk write cache of a device's session on a version (for tests and admins: qemu-img reads it).</summary>
    public string OverlayPath(string vdisk, string device, int version, long versionId) => Caches.OverlayPath(vdisk, device, version, versionId);

    /// <summary>Ends the live sessions of farm servers that are down (their clients fail over); how many.</summary>
    public Task<int> EndSessionsOfDownServersAsync(CancellationToken cancellationToken) => _records.EndSessionsOfDownServersAsync(cancellationToken);

    /// <summary>Bytes this server has streamed to device sessions since it started (reads and writes).</summary>
    public long BytesStreamed => _live.BytesStreamed;

    /// <summary>Device sessions this server streams now.</summary>
    public int LiveCount => _live.Count;

    /// <summary>What the server-side write caches of this server's sessions weigh now, bytes.</summary>
    public long WriteCacheBytes => _live.WriteCacheBytes;

    /// <summary>True while this layer serves from the server's snapshot because the site database is unreachable.</summary>
    public bool Offline => _database.Offline;

    public async Task<BootDecision> DecideAsync(BootRequest request, CancellationToken cancellationToken = default)
    {
        var decision = await OnSiteAsync(() => _planner.DecideAsync(request, cancellationToken), cancellationToken);
        SessionMetrics.Decided(decision);
        var mac = MacAddress.TryParse(request.Mac, out var parsed) ? parsed.ToString() : "(none)";
        var remote = request.RemoteAddress ?? "";
        switch (decision)
        {
            case BootVDisk boot:
                // What the boot will read first starts warming now: changes
                // nothing a running client depends on. (Not for an image
                // written in place: it is opened writable, alone.)
                if (boot.Target.WriteCacheMode != WriteCacheMode.None && boot.Placement.Server is null)
                {
                    _live.WarmUp(boot.Target.VDisk, new VDiskVersion { Id = boot.Target.VersionId, Number = boot.Target.Version, FileName = "", Stage = VersionStage.Production }, boot.Target.VersionFile);
                }

                LogBoot(_bootLogger, mac, remote, boot.Device.Name, boot.Target.VDisk, boot.Target.Version, ClientText.ForLog(request.Platform, 16), ClientText.ForLog(request.BuildArch, 16), LoaderForLog(request));
                if (boot.Placement.Server is { } other)
                {
                    LogPlaced(_bootLogger, boot.Device.Name, other.Name, other.Host);
                }

                if (boot.Registered)
                {
                    LogRegistered(_bootLogger, mac, boot.Device.Name, boot.Device.Collection);
                }

                break;
            case BootMenu menu:
                LogMenu(_bootLogger, mac, remote, menu.Device.Name, menu.Items.Count);
                break;
            case RegistrationMenu registration:
                LogRegistrationMenu(_bootLogger, mac, remote, registration.Collection);
                break;
            case BootQueued queued:
                LogQueued(_bootLogger, mac, remote, queued.Device.Name, queued.Ahead);
                break;
            case BootRefused refused:
                LogRefusedBoot(_bootLogger, mac, remote, refused.Reason, refused.Message);
                await RecordRefusalAsync(refused, request, cancellationToken);
                break;
        }

        return decision;
    }

    /// <summary>The refusal is the client's answer; keeping it for the admin must never stand in its way.</summary>
    private async Task RecordRefusalAsync(BootRefused refused, BootRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await _refusedBoots.RecordAsync(refused, request, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or Microsoft.EntityFrameworkCore.DbUpdateException or InvalidOperationException or TimeoutException)
        {
            LogRefusalNotKept(_logger, refused.Device?.Name ?? "", e.Message);
        }
    }

    public async Task<BootLoader> LoaderAsync(string mac, CancellationToken cancellationToken = default) =>
        MacAddress.TryParse(mac, out var parsed)
            ? await OnSiteAsync(() => _loaders.ForAsync(parsed, cancellationToken), cancellationToken)
            : BootLoader.Ipxe;

    public async Task<SessionResult<SessionView>> OpenAsync(ViewRequest request, CancellationToken cancellationToken = default)
    {
        var opened = await OnSiteAsync(() => OpenViewAsync(request, cancellationToken), cancellationToken);
        if (!opened.Ok)
        {
            LogRefused(_logger, ViewName.ForLog(request.Name), request.Protocol, request.Remote ?? "", opened.Error.Reason);
            SessionMetrics.Refused(request.Protocol, opened.Error.Reason);
        }

        return opened;
    }

    public Task<SessionResult<ViewFacts>> DescribeAsync(ViewRequest request, CancellationToken cancellationToken = default) =>
        OnSiteAsync(() => DescribeViewAsync(request, cancellationToken), cancellationToken);

    private async Task<SessionResult<ViewFacts>> DescribeViewAsync(ViewRequest request, CancellationToken cancellationToken)
    {
        if (!ViewName.TryParse(request.Name, out var name))
        {
            return BadName();
        }

        if (!name.Value.IsDeviceView)
        {
            var shared = await _resolver.SharedAsync(name.Value, cancellationToken);
            return shared.Ok
                ? new ViewFacts(shared.Value.VDisk.Name, shared.Value.VDisk.Name, shared.Value.VDisk.Description, shared.Value.Version.Number, shared.Value.VDisk.SizeBytes, true, null, null, 0)
                : shared.Error;
        }

        var target = await _resolver.DeviceAsync(name.Value, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        var (device, vdisk, boot, _) = target.Value;
        var versions = await _resolver.VersionsAsync(vdisk.Id, cancellationToken);
        var version = boot.VersionNumber is int pinned ? versions.Find(v => v.Number == pinned) : VersionSelection.ForDevice(device.Type, versions);
        if (version is null)
        {
            return new SessionError(SessionRefusal.NoVersion, $"vDisk '{vdisk.Name}' has no version for {device.Name}");
        }

        var mode = WriteCachePolicy.For(device, vdisk, version);
        return new ViewFacts($"{vdisk.Name}/{device.Name}", vdisk.Name, vdisk.Description, version.Number, vdisk.SizeBytes, mode.OnClient(), device.Name, mode, 0);
    }

    public Task<SessionResult<DeviceIdentity>> IdentityAsync(IdentityRequest request, CancellationToken cancellationToken = default) =>
        OnSiteAsync(() => IdentityOfAsync(request, cancellationToken), cancellationToken);

    private async Task<SessionResult<DeviceIdentity>> IdentityOfAsync(IdentityRequest request, CancellationToken cancellationToken)
    {
        if (!MacAddress.TryParse(request.Mac, out var mac))
        {
            return new SessionError(SessionRefusal.BadName, $"'{ClientText.ForLog(request.Mac, 64)}' is not a MAC address");
        }

        var found = await _resolver.IdentityAsync(mac, cancellationToken);
        if (found is not { } identity)
        {
            return new SessionError(SessionRefusal.UnknownDevice, $"no device has MAC {mac}");
        }

        var device = identity.Device;
        Boot? boot;
        if (request.Key is { } key)
        {
            boot = BootKey.IsWellFormed(key) ? await _credentials.MatchAsync(device.Id, key, cancellationToken) : null;
            if (boot is null)
            {
                return new SessionError(SessionRefusal.KeyRejected, $"that key is not one of {device.Name}'s boots");
            }
        }
        else
        {
            // A disk booted by its own boot loader (SAN boot) has no command
            // line from us: its OS may ask from the address its boot streams
            // to, once; the initramfs asks before any user of the OS could.
            boot = await _credentials.RunningAsync(device.Id, cancellationToken);
            var fromBoot = boot is not null && BootPlanner.SameHost(boot.Address, request.Remote)
                && await _credentials.StreamedLatelyAsync(device.Id, cancellationToken)
                && await _credentials.GiveKeyOnceAsync(boot.Id, cancellationToken);
            if (!fromBoot)
            {
                if (_settings.RequireBootKey)
                {
                    return new SessionError(SessionRefusal.KeyRequired, $"{device.Name}'s identity is given with its boot's key (identity?mac=...&key=...), or once to the address its boot streams to");
                }

                boot = null;
            }
        }

        var vdisk = boot is null ? identity.LiveVDisk ?? identity.DefaultVDisk : await _resolver.VDiskNameAsync(boot.VDiskId, cancellationToken);
        return new DeviceIdentity(
            BootPlanner.Identity(device),
            device.Enabled,
            identity.VDisks,
            vdisk,
            vdisk is null ? null : $"{vdisk}/{device.Name}",
            identity.Live is not null,
            identity.Live?.WriteCacheMode ?? (vdisk is null ? null : device.WriteCacheMode),
            boot?.Key)
        {
            Alternates = boot is null ? [] : await Placement.AlternatesAsync(request.Remote, cancellationToken),
        };
    }

    public Task<SessionResult<string>> BootFilesAsync(BootFilesRequest request, CancellationToken cancellationToken = default) =>
        OnSiteAsync(() => _resolver.BootFilesAsync(request, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<(string Name, string? Description)>> ListAsync(CancellationToken cancellationToken = default) =>
        OnSiteAsync(() => _resolver.ListAsync(cancellationToken), cancellationToken);

    public async Task<SessionResult<string>> ProveKeyAsync(string vdisk, string device, Func<string, bool> proves, CancellationToken cancellationToken = default)
    {
        var proved = await OnSiteAsync(() => _resolver.ProveKeyAsync(vdisk, device, proves, cancellationToken), cancellationToken);
        if (!proved.Ok)
        {
            LogRefused(_logger, ClientText.ForLog($"{vdisk}/{device}"), "challenge", "", proved.Error.Reason);
            SessionMetrics.Refused("challenge", proved.Error.Reason);
        }

        return proved;
    }

    /// <summary>
    /// The periodic work: live sessions' counters into the database; the
    /// sessions and shared layers of versions deleted since (the admin
    /// verbs change the database from another process: a vDisk deleted,
    /// a version rolled back or pruned) ended and closed; and the shared
    /// layers of versions nobody streams closed once unused for a while.
    /// </summary>
    public async Task MaintainAsync(CancellationToken cancellationToken)
    {
        await _live.ReportAsync(cancellationToken);
        if (_database.Offline)
        {
            // The snapshot may miss what the last seconds before the outage
            // added (a version, a boot): absent there is not deleted. Admins
            // change nothing while the database is away, other servers end
            // nothing of ours, and nothing moves: nothing to act on.
            Images.Sweep(_settings.UnusedImageLifetime);
            return;
        }

        await EndDeletedVersionsAsync(cancellationToken);
        await _live.EndSupersededAsync(cancellationToken);
        await _rebalancing.RunAsync(cancellationToken);
        Images.Sweep(_settings.UnusedImageLifetime);
    }

    /// <summary>Ends what this server holds open of versions whose rows are gone; returns how many sessions and views ended.</summary>
    public async Task<int> EndDeletedVersionsAsync(CancellationToken cancellationToken)
    {
        var open = _live.VersionIdsInUse().Union(Images.Ids()).ToHashSet();
        var existing = await _resolver.ExistingVersionsAsync(open, cancellationToken);
        var gone = open.Where(id => !existing.Contains(id)).ToHashSet();
        if (gone.Count == 0)
        {
            return 0;
        }

        var ended = await _live.EndVersionsAsync(gone);
        foreach (var id in gone)
        {
            Images.Forget(id);
        }

        return ended;
    }

    /// <summary>
    /// Takes versions out of service on this server at once (its copy of
    /// them, or of a version below them, failed its hash check): their
    /// sessions and read-only views end, their shared layers close, and
    /// opens are refused until the copy is verified again. Returns how many
    /// sessions and views ended.
    /// </summary>
    public async Task<int> WithdrawVersionsAsync(IReadOnlySet<long> versionIds)
    {
        var ended = await _live.EndVersionsAsync(versionIds, "failed its hash check on this server");
        foreach (var id in versionIds)
        {
            Images.Forget(id);
        }

        return ended;
    }

    public async ValueTask DisposeAsync()
    {
        await _live.DisposeAsync();
        await Profiles.DisposeAsync();
        await Images.DisposeAsync();
    }

    private async Task<SessionResult<SessionView>> OpenViewAsync(ViewRequest request, CancellationToken cancellationToken)
    {
        if (!ViewName.TryParse(request.Name, out var name))
        {
            return BadName();
        }

        if (!name.Value.IsDeviceView)
        {
            var shared = await _resolver.SharedAsync(name.Value, cancellationToken);
            if (!shared.Ok)
            {
                return shared.Error;
            }

            var view = shared.Value;
            return await Store.RefusalAsync(view.VDisk, view.Version, [.. view.VDisk.Versions], cancellationToken) is { } notHere
                ? notHere
                : _live.OpenShared(view);
        }

        if (await _live.TryJoinAsync(name.Value, request.Protocol, request.Remote, cancellationToken) is { } joined)
        {
            return joined;
        }

        var target = await _resolver.DeviceAsync(name.Value, cancellationToken);
        return target.Ok ? await _live.OpenDeviceAsync(target.Value, request.Protocol, request.Remote, cancellationToken) : target.Error;
    }

    /// <summary>
    /// Runs a request on the site database; when it fails because the
    /// database went away and the server's snapshot takes over, once more on
    /// the snapshot (a boot or an open in flight at the moment of an outage
    /// is answered, not failed).
    /// </summary>
    private async Task<T> OnSiteAsync<T>(Func<Task<T>> request, CancellationToken cancellationToken)
    {
        var offline = _database.Offline;
        try
        {
            return await request();
        }
        catch (Exception e) when (!offline && Data.DbErrors.IsUnreachable(e))
        {
            if (!await _database.FallBackAsync(e, cancellationToken))
            {
                throw;
            }
        }

        return await request();
    }

    private static SessionError BadName() =>
        new(SessionRefusal.BadName, "a view is named VDISK (read-only) or VDISK/DEVICE/KEY (a device's own, with its boot's key)");

    [LoggerMessage(1112, LogLevel.Warning, "Could not keep {Device}'s refused boot for 'session list' (the client was told): {Why}")]
    private static partial void LogRefusalNotKept(ILogger logger, string device, string why);

    [LoggerMessage(1109, LogLevel.Warning, "Refused {View} over {Protocol} to {Remote}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string view, string protocol, string remote, SessionRefusal reason);

    [LoggerMessage(1200, LogLevel.Information, "Boot: {Mac} from {Remote} boots vDisk {VDisk} version {Version} as {Name} (platform {Platform}, arch {Arch}{Loader})")]
    private static partial void LogBoot(ILogger logger, string mac, string remote, string name, string vdisk, int version, string platform, string arch, string loader);

    /// <summary>Nothing for iPXE (its lines stay as they were); the Secure Boot chain and what its GRUB said of the firmware.</summary>
    private static string LoaderForLog(BootRequest request) => request.Loader == BootLoader.SecureBoot
        ? $", Secure Boot chain, Secure Boot {(request.SecureBoot is { } on ? on ? "on" : "off" : "unknown")}"
        : "";

    [LoggerMessage(1201, LogLevel.Information, "Boot: registered unknown machine {Mac} as {Name} in collection {Collection}")]
    private static partial void LogRegistered(ILogger logger, string mac, string name, string collection);

    [LoggerMessage(1202, LogLevel.Information, "Boot: {Mac} from {Remote} ({Name}) gets a menu of {Count} vDisks")]
    private static partial void LogMenu(ILogger logger, string mac, string remote, string name, int count);

    [LoggerMessage(1203, LogLevel.Information, "Boot: unknown machine {Mac} from {Remote} gets the registration menu of collection {Collection}")]
    private static partial void LogRegistrationMenu(ILogger logger, string mac, string remote, string collection);

    [LoggerMessage(1204, LogLevel.Warning, "Boot: refused {Mac} from {Remote} ({Reason}): {Message}")]
    private static partial void LogRefusedBoot(ILogger logger, string mac, string remote, BootRefusal reason, string message);

    [LoggerMessage(1205, LogLevel.Information, "Boot: {Name} is sent to server {Server} ({Host}), the least loaded per weight")]
    private static partial void LogPlaced(ILogger logger, string name, string server, string host);

    [LoggerMessage(1206, LogLevel.Information, "Boot: {Mac} from {Remote} ({Name}) waits: every server is at its limit of clients booting ({Ahead} ahead of it)")]
    private static partial void LogQueued(ILogger logger, string mac, string remote, string name, int ahead);
}
