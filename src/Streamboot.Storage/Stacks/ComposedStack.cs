using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Profiles;
using Streamboot.Storage.WriteCaches;

namespace Streamboot.Storage.Stacks;

/// <summary>
/// One session's stack: <see cref="Device"/> is its top. Disposing it
/// flushes and closes the session's own layers and lets go of the shared
/// ones, which stay open for other sessions.
/// </summary>
public sealed class ComposedStack : IAsyncDisposable
{
    private readonly SharedImage? _shared;
    private readonly string? _cacheFile;
    private int _disposed;

    internal ComposedStack(IBlockDevice device, SharedImage? shared, BootProfileRecorder? recorder, string? cacheFile)
    {
        Device = device;
        _shared = shared;
        Recorder = recorder;
        _cacheFile = cacheFile;
    }

    public IBlockDevice Device { get; }

    /// <summary>The shared layers' key (null for an image written in place, which is not shared).</summary>
    public SharedImageKey? SharedKey => _shared?.Key;

    /// <summary>The boot-profile recorder between the write cache and the read cache, when the plan asked for one.</summary>
    public BootProfileRecorder? Recorder { get; }

    /// <summary>What the session's writes weigh: RAM plus overflow, or the overlay file's length.</summary>
    public long WriteCacheBytes => Device switch
    {
        OverlayWriteCache ram => ram.BytesUsed,
        _ when _cacheFile is not null && new FileInfo(_cacheFile) is { Exists: true } file => file.Length,
        _ => 0,
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await Device.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            Recorder?.Stop();
            _shared?.Dispose();
        }
    }
}
