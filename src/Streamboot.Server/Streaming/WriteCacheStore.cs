using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Admin;
using Streamboot.Data.Model;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.WriteCaches;

namespace Streamboot.Server.Streaming;

/// <summary>
/// Builds the block-device stack a session streams from its plan:
/// <code>
///   session:   qcow2 overlay | RAM overlay | read-only layer | (in place)
///   profile:   BootProfileRecorder (a boot's first minute, see BootProfiles)
///   shared:    SharedReadCache (one per version, all sessions)
///   test only: LatencyBlockDevice (STREAMBOOT_STORAGE_READ_LATENCY_MS)
///   storage:   ImageChain (the version and its backing files, read-only)
/// </code>
/// Server-disk writes go to a qcow2 overlay of the device's own,
/// <c>DATA/cache/VDISK/DEVICE.vN.qcow2</c>: durable at flush, so it survives a
/// reconnect and a server restart within one boot, and qemu-img can check
/// it. RAM writes go to an in-memory overlay overflowing to
/// <c>DATA/cache/VDISK/DEVICE.vN.ram-overflow</c>. Private images and
/// versions in maintenance are written in place. Read-only views and
/// client-disk mode refuse writes.
/// </summary>
public sealed class WriteCacheStore(
    string dataFolder,
    long readCacheBytes = WriteCacheStore.DefaultReadCacheBytes,
    long ramCacheBytes = WriteCacheStore.DefaultRamCacheBytes,
    BootProfileSettings? profileSettings = null,
    ILogger? logger = null) : IAsyncDisposable
{
    public const long DefaultReadCacheBytes = 256L << 20;
    public const long DefaultRamCacheBytes = 256L << 20;

    private readonly Dictionary<string, SharedReadCache> _shared = new(StringComparer.Ordinal);
    private readonly Dictionary<(string VDisk, int Version), string> _topFiles = [];
    private readonly Lock _lock = new();

    /// <summary>Recording and replay of boot profiles over the shared caches.</summary>
    public BootProfiles Profiles { get; } = new(dataFolder, profileSettings ?? BootProfileSettings.Default, logger ?? NullLogger.Instance);

    /// <summary>Test and benchmark only: a delay added to every read of vDisk storage (slow shared storage).</summary>
    public TimeSpan StorageReadLatency { get; init; }

    public string Root { get; } = Path.Combine(dataFolder, "cache");

    /// <summary>The overlay file for a device's session on a version.</summary>
    public string OverlayPath(string vdisk, string device, int version) =>
        Path.Combine(Root, vdisk, $"{device}.v{version}.qcow2");

    /// <summary>Hits and misses of the shared read caches, for metrics and tests.</summary>
    public (long Hits, long Misses) ReadCacheCounters()
    {
        lock (_lock)
        {
            return (_shared.Values.Sum(c => c.Hits), _shared.Values.Sum(c => c.Misses));
        }
    }

    public OpenedStack Open(StreamPlan plan)
    {
        if (plan.Device is not null && plan.WriteCacheMode == WriteCacheMode.None && !plan.ReadOnly)
        {
            var inPlace = ImageChain.Open(plan.TopFile, readOnly: false);
            return new OpenedStack(inPlace, () => 0);
        }

        // The lower layers are shared and never written: every session reads
        // them through one cache and never disposes them.
        var shared = SharedFor(plan.TopFile);
        lock (_lock)
        {
            _topFiles[(plan.VDisk, plan.Version)] = plan.TopFile;
        }

        var lower = WriteCache.OnClientDisk(Profiles.Attach(plan, shared, out var sessionEnded));
        var stack = OpenOver(plan, lower);
        return sessionEnded is null ? stack : stack with { Device = new SessionEndHook(stack.Device, sessionEnded) };
    }

    /// <summary>
    /// A device's boot begins (its <c>/boot.ipxe</c>): its next session
    /// records a boot profile, and the version's profile starts warming the
    /// shared cache now if this server has opened the version before
    /// (otherwise when the session opens).
    /// </summary>
    public void BootBegins(string device, string vdisk, int version)
    {
        Profiles.BootBegins(device);
        string? topFile;
        lock (_lock)
        {
            _topFiles.TryGetValue((vdisk, version), out topFile);
        }

        if (topFile is null)
        {
            return;
        }

        try
        {
            Profiles.StartReplay(vdisk, version, SharedFor(topFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BlockDeviceException)
        {
            // The warm-up is an optimisation: the session reports storage errors when it opens.
        }
    }

    private OpenedStack OpenOver(StreamPlan plan, IBlockDevice lower)
    {
        if (plan.ReadOnly || plan.Device is null || plan.WriteCacheMode.OnClient())
        {
            return new OpenedStack(lower, () => 0);
        }

        var folder = Path.Combine(Root, plan.VDisk);
        Directory.CreateDirectory(folder);
        // Caches of other versions are from earlier boots: gone.
        foreach (var stale in Directory.GetFiles(folder, $"{plan.Device}.v*").Where(f => !Path.GetFileName(f).StartsWith($"{plan.Device}.v{plan.Version}.", StringComparison.Ordinal)))
        {
            File.Delete(stale);
        }

        if (plan.WriteCacheMode == WriteCacheMode.ServerRam)
        {
            var overflow = Path.Combine(folder, $"{plan.Device}.v{plan.Version}.ram-overflow");
            var ram = WriteCache.InRam(lower, ramCacheBytes, overflow);
            return new OpenedStack(ram, () => ram.BytesUsed);
        }

        var overlay = OverlayPath(plan.VDisk, plan.Device, plan.Version);
        if (!File.Exists(overlay))
        {
            Qcow2Image.Create(overlay, plan.SizeBytes, backingFile: plan.TopFile, backingFormat: ImageChain.Probe(plan.TopFile) == ImageFormat.Qcow2 ? "qcow2" : "raw");
        }

        var disk = Qcow2Image.OpenOver(overlay, lower);
        return new OpenedStack(disk, () => new FileInfo(overlay) is { Exists: true } f ? f.Length : 0);
    }

    /// <summary>Deletes a device's write-cache files on every vDisk (a new boot starts clean); returns how many.</summary>
    public int Discard(string device)
    {
        if (!Directory.Exists(Root))
        {
            return 0;
        }

        var count = 0;
        foreach (var folder in Directory.GetDirectories(Root))
        {
            foreach (var file in Directory.GetFiles(folder, $"{device}.v*"))
            {
                File.Delete(file);
                count++;
            }
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        await Profiles.DisposeAsync();
        List<SharedReadCache> caches;
        lock (_lock)
        {
            caches = [.. _shared.Values];
            _shared.Clear();
        }

        foreach (var cache in caches)
        {
            await cache.DisposeAsync();
        }
    }

    private SharedReadCache SharedFor(string topFile)
    {
        lock (_lock)
        {
            if (!_shared.TryGetValue(topFile, out var cache))
            {
                IBlockDevice storage = ImageChain.Open(topFile, readOnly: true);
                if (StorageReadLatency > TimeSpan.Zero)
                {
                    storage = new LatencyBlockDevice(storage, StorageReadLatency);
                }

                cache = new SharedReadCache(storage, readCacheBytes);
                _shared[topFile] = cache;
            }

            return cache;
        }
    }
}
