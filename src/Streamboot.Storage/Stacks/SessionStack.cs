using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Profiles;
using Streamboot.Storage.WriteCaches;

namespace Streamboot.Storage.Stacks;

/// <summary>
/// The one place a session's block-device stack is put together, for the
/// server and the benchmarks alike:
/// <code>
///   session   qcow2 overlay | RAM overlay + overflow | read-only | (in place)
///   a boot    BootProfileRecorder (its first reads, when the plan asks)
///   shared    SharedReadCache (one per image, every session of it)
///   test only LatencyBlockDevice (slow storage)
///   storage   ImageChain: the version and its backing files, read-only
/// </code>
/// The write cache sees the shared layers through a read-only layer: a bug
/// in a cache can never write into an image other sessions read.
/// </summary>
public static class SessionStack
{
    /// <summary>
    /// Opens the stack <paramref name="plan"/> describes. Throws
    /// <see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>
    /// or <see cref="BlockDeviceException"/> when an image or cache file cannot
    /// be opened; nothing stays open then.
    /// </summary>
    public static ComposedStack Compose(SessionStackPlan plan, SharedImages images)
    {
        if (plan.WriteCache == WriteCacheLayer.InPlace)
        {
            return new ComposedStack(ImageChain.Open(plan.TopFile, readOnly: false), null, null, null);
        }

        var shared = images.Acquire(plan.ImageId, plan.TopFile);
        try
        {
            var recorder = plan.Recording is { } r
                ? new BootProfileRecorder(shared.Cache, shared.Cache.BlockSize, r.Window, r.MaxBytes)
                : null;
            var lower = WriteCache.OnClientDisk(recorder ?? (IBlockDevice)shared.Cache);
            IBlockDevice top = plan.WriteCache switch
            {
                WriteCacheLayer.ReadOnly => lower,
                WriteCacheLayer.Ram => WriteCache.InRam(lower, plan.RamBytes, CacheFile(plan)),
                WriteCacheLayer.Qcow2File => OpenOverlay(plan, lower),
                _ => throw new ArgumentOutOfRangeException(nameof(plan), plan.WriteCache, "unknown write-cache layer"),
            };
            return new ComposedStack(top, shared, recorder, plan.WriteCache == WriteCacheLayer.ReadOnly ? null : plan.CacheFile);
        }
        catch
        {
            shared.Dispose();
            throw;
        }
    }

    /// <summary>The session's qcow2 overlay, made on first use; it names the version's top file as its backing file so qemu-img can read it alone.</summary>
    private static Qcow2Image OpenOverlay(SessionStackPlan plan, IBlockDevice lower)
    {
        var file = CacheFile(plan);
        if (!File.Exists(file))
        {
            Qcow2Image.Create(file, plan.Size, backingFile: plan.TopFile, backingFormat: ImageChain.Probe(plan.TopFile) == ImageFormat.Qcow2 ? "qcow2" : "raw");
        }

        return Qcow2Image.OpenOver(file, lower);
    }

    private static string CacheFile(SessionStackPlan plan)
    {
        var file = plan.CacheFile ?? throw new ArgumentException($"a {plan.WriteCache} write cache needs a cache file", nameof(plan));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        return file;
    }
}
