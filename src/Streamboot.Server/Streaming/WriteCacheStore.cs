using Streamboot.Admin;
using Streamboot.Data.Model;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.WriteCaches;

namespace Streamboot.Server.Streaming;

/// <summary>
/// Builds the block-device stack a session streams from its plan:
/// <code>
///   session:   qcow2 overlay | RAM overlay | read-only layer | (in place)
///   shared:    SharedReadCache (one per version, all sessions)
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
public sealed class WriteCacheStore(string dataFolder, long readCacheBytes = WriteCacheStore.DefaultReadCacheBytes, long ramCacheBytes = WriteCacheStore.DefaultRamCacheBytes) : IAsyncDisposable
{
    public const long DefaultReadCacheBytes = 256L << 20;
    public const long DefaultRamCacheBytes = 256L << 20;

    private readonly Dictionary<string, SharedReadCache> _shared = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

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
        var lower = WriteCache.OnClientDisk(SharedFor(plan.TopFile));
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
            Qcow2Image.Create(overlay, plan.SizeBytes, backingFile: plan.TopFile, backingFormat: ImageChain.Probe(plan.TopFile) == Storage.Formats.ImageFormat.Qcow2 ? "qcow2" : "raw");
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
                cache = new SharedReadCache(ImageChain.Open(topFile, readOnly: true), readCacheBytes);
                _shared[topFile] = cache;
            }

            return cache;
        }
    }
}
