using Streamboot.Storage.ReadCache;

namespace Streamboot.Storage.Stacks;

/// <summary>One user's hold on an image's shared layers, released exactly once.</summary>
public sealed class SharedImage : IDisposable
{
    private readonly SharedImages _owner;
    private readonly SharedImages.Entry _entry;
    private int _released;

    internal SharedImage(SharedImages owner, SharedImages.Entry entry)
    {
        _owner = owner;
        _entry = entry;
    }

    public SharedImageKey Key => _entry.Key;

    /// <summary>The image's read cache over its chain: read-only, shared, never disposed by its users.</summary>
    public SharedReadCache Cache => _entry.Cache;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Release(_entry);
        }
    }
}
