using Microsoft.Extensions.Logging;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Views;
using Streamboot.Telemetry;

namespace Streamboot.Sessions.Live;

/// <summary>
/// A new boot starting: the first open with its key makes it the device's
/// running boot, here and in the database.
/// </summary>
internal sealed partial class LiveSessions
{
    /// <summary>
    /// The first open with a pending boot's key: checks that no other machine
    /// was just streaming as this device, picks the version, makes the boot
    /// the device's running one (in the database, so every server agrees),
    /// ends the previous boot here and throws its write cache away.
    /// </summary>
    private async Task<SessionResult<VDiskVersion>> BeginAsync(DeviceTarget target, Boot boot, List<VDiskVersion> versions, string? remote, CancellationToken cancellationToken)
    {
        var device = target.Device;
        var running = await credentials.RunningAsync(device.Id, cancellationToken);
        if (running is not null && !BootPlanner.SameHost(running.Address, remote) && await credentials.StreamedLatelyAsync(device.Id, cancellationToken))
        {
            LogTakeoverRefused(logger, device.Name, remote ?? "", running.Address ?? "");
            return new SessionError(SessionRefusal.PreviousBootRunning, $"{device.Name}'s previous boot was streaming to another machine moments ago; a new boot from here may start once it has stopped for {(int)settings.TakeoverGuard.TotalSeconds} s");
        }

        var version = VersionSelection.ForDevice(device.Type, versions);
        if (version is null)
        {
            return new SessionError(SessionRefusal.NoVersion, $"vDisk '{target.VDisk.Name}' has no version for {KebabCase.Of(device.Type)} devices like {device.Name}");
        }

        // Before the boot starts: refused here, the client starts it on a server that holds the version.
        if (await store.RefusalAsync(target.VDisk, version, versions, cancellationToken) is { } notHere)
        {
            return notHere;
        }

        if (!await credentials.StartAsync(boot, BootPlanner.HostOf(remote)?.ToString() ?? remote, version.Number, cancellationToken))
        {
            return new SessionError(SessionRefusal.Conflict, $"another boot of {device.Name} started at the same moment; try again");
        }

        LiveSession? old;
        LiveSession? parked;
        lock (_lock)
        {
            _byDevice.TryGetValue(device.Id, out old);
            _parked.Remove(device.Id, out parked);
        }

        if (old is not null)
        {
            await EvictAsync(old);
            LogEvicted(logger, old.Facts.SessionId, device.Name, old.Remote ?? "");
        }

        if (parked is not null)
        {
            await parked.Stack.DisposeAsync();
        }

        if (!device.PersistentWriteCache)
        {
            var discarded = files.Discard(device.Name);
            if (discarded > 0)
            {
                LogDiscarded(logger, device.Name, discarded);
            }
        }

        LogBootStarted(logger, device.Name, target.VDisk.Name, version.Number, remote ?? "");
        StreambootMetrics.BootsStarted.Add(1);
        // Both times are the site's clock; another server of a farm may have issued the boot, so never below zero.
        StreambootMetrics.BootTimeToDisk.Record(Math.Max(0, ((boot.StartedAt ?? boot.IssuedAt) - boot.IssuedAt).TotalSeconds));
        return version;
    }

    [LoggerMessage(1106, LogLevel.Information, "Boot of {Device} started: vDisk {VDisk} version {Version}, from {Remote}")]
    private static partial void LogBootStarted(ILogger logger, string device, string vdisk, int version, string remote);

    [LoggerMessage(1107, LogLevel.Warning, "Refused a new boot of {Device} from {Remote}: its running boot streamed to {Holder} moments ago")]
    private static partial void LogTakeoverRefused(ILogger logger, string device, string remote, string holder);
}
