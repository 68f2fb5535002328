using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Profiles;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.Stacks;

namespace Streamboot.Sessions.Profiles;

/// <summary>
/// Step 4 of the boot (DESIGN.md): what the OS needs to start is sent first.
/// A boot's session records the blocks it reads in its first minute
/// (<see cref="BootProfileRecorder"/>, a layer of its stack) into
/// <c>DATA/profiles/VDISK.vN.profile</c>; when the next boot of that version
/// is decided (its boot script) or opens its disk, the profile is replayed
/// in order into the version's <see cref="SharedReadCache"/> in the
/// background, so the client's reads find the blocks in memory or already on
/// their way.
/// </summary>
/// <remarks>
/// Who records: the first session of a boot (its key opened the disk for
/// the first time), or any device session while the version has no profile
/// yet. One recording and one replay at a time per version, so a boot storm
/// of a hundred clients starts one of each. A recording replaces the file
/// only with at least <see cref="BootProfileSettings.MinBlocks"/> blocks, so a
/// reconnect or an aborted boot keeps the last good profile. A replay never
/// fails a boot: a missing, corrupt or stale file is logged and skipped.
/// </remarks>
public sealed partial class BootProfiles(string dataFolder, BootProfileSettings settings, ILogger logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, BootProfileRecorder?> _recording = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _replays = new(StringComparer.Ordinal);
    private readonly List<Task> _saves = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _shutdown = new();
    private long _replaysStarted;
    private long _blocksPrefetched;
    private int _disposed;

    public BootProfileSettings Settings { get; } = settings;

    public string Root => Admin.SiteFiles.ProfileRoot(dataFolder);

    /// <summary>Replays started since this server began.</summary>
    public long ReplaysStarted => Interlocked.Read(ref _replaysStarted);

    /// <summary>Blocks replays found missing from the shared cache and loaded.</summary>
    public long BlocksPrefetched => Interlocked.Read(ref _blocksPrefetched);

    public string PathFor(string vdisk, int version) => Admin.SiteFiles.ProfilePath(dataFolder, vdisk, version);

    /// <summary>
    /// Whether a device session about to open records its reads: a new boot
    /// does, and any session while the version has no profile; never two at
    /// once for one version. Non-null claims the recording: the caller then
    /// either <see cref="Track"/>s the recorder its stack got or <see cref="Abandon"/>s the claim.
    /// </summary>
    public ProfileRecording? Claim(string vdisk, int version, bool newBoot)
    {
        if (Settings.Window <= TimeSpan.Zero || _shutdown.IsCancellationRequested)
        {
            return null;
        }

        if (!newBoot && File.Exists(PathFor(vdisk, version)))
        {
            return null;
        }

        return _recording.TryAdd(Key(vdisk, version), null) ? new ProfileRecording(Settings.Window, Settings.MaxBytes) : null;
    }

    /// <summary>The claimed recording is not going to happen (the session did not open).</summary>
    public void Abandon(string vdisk, int version) => _recording.TryRemove(Key(vdisk, version), out _);

    /// <summary>The session's stack records through <paramref name="recorder"/>: its profile is saved when it stops (after the window, or when the session ends).</summary>
    public void Track(string vdisk, int version, string device, BootProfileRecorder recorder)
    {
        var key = Key(vdisk, version);
        _recording[key] = recorder;
        var path = PathFor(vdisk, version);
        recorder.Stopped += r =>
        {
            // Stopped may fire on a read's thread: the file is written elsewhere.
            var save = Task.Run(() => Save(vdisk, version, device, key, path, r));
            lock (_lock)
            {
                _saves.RemoveAll(t => t.IsCompleted);
                _saves.Add(save);
            }
        };
        _ = StopAfterWindowAsync(recorder);
        LogRecording(logger, vdisk, version, device, (int)Settings.Window.TotalSeconds);
    }

    /// <summary>
    /// Replays the version's profile into its shared cache in the background
    /// unless a replay of it is running; false when none starts. The replay
    /// owns <paramref name="image"/> (its hold on the cache) and lets it go
    /// when it ends; so does this call when no replay starts.
    /// </summary>
    public bool StartReplay(string vdisk, int version, SharedImage image)
    {
        var path = PathFor(vdisk, version);
        if (Settings.Window <= TimeSpan.Zero || _shutdown.IsCancellationRequested || !File.Exists(path))
        {
            image.Dispose();
            return false;
        }

        var key = Key(vdisk, version);
        lock (_lock)
        {
            if ((_replays.TryGetValue(key, out var running) && !running.IsCompleted) || Load(path, image.Cache) is not { } profile)
            {
                image.Dispose();
                return false;
            }

            Interlocked.Increment(ref _replaysStarted);
            _replays[key] = Task.Run(async () =>
            {
                using (image)
                {
                    await ReplayAsync(vdisk, version, profile, image.Cache, _shutdown.Token);
                }
            });
            return true;
        }
    }

    /// <summary>The running or last replay of a version (tests and benchmarks wait on it).</summary>
    public Task ReplayOf(string vdisk, int version)
    {
        lock (_lock)
        {
            return _replays.TryGetValue(Key(vdisk, version), out var task) ? task : Task.CompletedTask;
        }
    }

    /// <summary>Waits until the profiles of stopped recordings are on disk.</summary>
    public Task SavedAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll(_saves);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync();
        foreach (var recorder in _recording.Values)
        {
            recorder?.Stop();
        }

        Task[] pending;
        lock (_lock)
        {
            pending = [.. _replays.Values, .. _saves];
        }

        await Task.WhenAll(pending);
    }

    private BootProfile? Load(string path, SharedReadCache cache)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogUnusable(logger, path, e.Message);
            return null;
        }

        if (!BootProfile.TryParse(bytes, out var profile, out var reason))
        {
            LogUnusable(logger, path, reason);
            return null;
        }

        if (profile!.DiskSize != cache.Size)
        {
            LogUnusable(logger, path, $"recorded for a disk of {profile.DiskSize} bytes, the version has {cache.Size}");
            return null;
        }

        return profile;
    }

    private async Task ReplayAsync(string vdisk, int version, BootProfile profile, SharedReadCache cache, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var before = cache.Prefetched;
        try
        {
            // Block by block in profile order; Parallel.ForEachAsync takes them
            // in order, so the replay runs ahead of the client a few blocks wide.
            var blockSize = cache.BlockSize;
            var blocks = profile.Extents.SelectMany(e => Blocks(e, blockSize));
            await Parallel.ForEachAsync(
                blocks,
                new ParallelOptions { MaxDegreeOfParallelism = Settings.ReplayConcurrency, CancellationToken = cancellationToken },
                async (range, ct) => await cache.PrefetchAsync(range.Offset, range.Length, ct));
            var loaded = cache.Prefetched - before;
            Interlocked.Add(ref _blocksPrefetched, loaded);
            LogReplayed(logger, vdisk, version, profile.Extents.Count, profile.Bytes, loaded, watch.ElapsedMilliseconds);
        }
        catch (OperationCanceledException)
        {
            LogReplayStopped(logger, vdisk, version, watch.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is BlockDeviceException or IOException or UnauthorizedAccessException or ObjectDisposedException or InvalidOperationException)
        {
            LogReplayFailed(logger, vdisk, version, e.Message);
        }
    }

    private static IEnumerable<ProfileExtent> Blocks(ProfileExtent extent, int blockSize)
    {
        for (var offset = extent.Offset; offset < extent.Offset + extent.Length; offset += blockSize)
        {
            yield return new ProfileExtent(offset, Math.Min(blockSize, extent.Offset + extent.Length - offset));
        }
    }

    private async Task StopAfterWindowAsync(BootProfileRecorder recorder)
    {
        try
        {
            await Task.Delay(Settings.Window, _shutdown.Token);
        }
        catch (OperationCanceledException)
        {
        }

        recorder.Stop();
    }

    private void Save(string vdisk, int version, string device, string key, string path, BootProfileRecorder recorder)
    {
        _recording.TryRemove(new KeyValuePair<string, BootProfileRecorder?>(key, recorder));
        var profile = recorder.ToProfile();
        var blocks = recorder.BlocksRecorded;
        if (blocks < Settings.MinBlocks)
        {
            LogTooShort(logger, vdisk, version, blocks, Settings.MinBlocks);
            return;
        }

        try
        {
            profile.Save(path);
            LogRecorded(logger, vdisk, version, device, profile.Extents.Count, profile.Bytes, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(logger, path, e.Message);
        }
    }

    private static string Key(string vdisk, int version) => $"{vdisk}\n{version}";

    [LoggerMessage(1150, LogLevel.Debug, "Boot profile: recording {VDisk} version {Version} from {Device} for {Seconds} s")]
    private static partial void LogRecording(ILogger logger, string vdisk, int version, string device, int seconds);

    [LoggerMessage(1151, LogLevel.Information, "Boot profile: recorded {VDisk} version {Version} from {Device}: {Extents} extents, {Bytes} bytes, in {Path}")]
    private static partial void LogRecorded(ILogger logger, string vdisk, int version, string device, int extents, long bytes, string path);

    [LoggerMessage(1152, LogLevel.Information, "Boot profile: {VDisk} version {Version} read only {Blocks} blocks (under {Min}): the last profile stays")]
    private static partial void LogTooShort(ILogger logger, string vdisk, int version, int blocks, int min);

    [LoggerMessage(1153, LogLevel.Warning, "Boot profile: cannot write {Path}: {Message}")]
    private static partial void LogSaveFailed(ILogger logger, string path, string message);

    [LoggerMessage(1154, LogLevel.Warning, "Boot profile: ignored {Path}: {Reason}")]
    private static partial void LogUnusable(ILogger logger, string path, string reason);

    [LoggerMessage(1155, LogLevel.Information, "Boot profile: replayed {VDisk} version {Version}: {Extents} extents, {Bytes} bytes, {Blocks} blocks loaded in {Milliseconds} ms")]
    private static partial void LogReplayed(ILogger logger, string vdisk, int version, int extents, long bytes, long blocks, long milliseconds);

    [LoggerMessage(1156, LogLevel.Information, "Boot profile: replay of {VDisk} version {Version} stopped at shutdown after {Milliseconds} ms")]
    private static partial void LogReplayStopped(ILogger logger, string vdisk, int version, long milliseconds);

    [LoggerMessage(1157, LogLevel.Warning, "Boot profile: replay of {VDisk} version {Version} failed (the boot goes on uncached): {Message}")]
    private static partial void LogReplayFailed(ILogger logger, string vdisk, int version, string message);
}
