using Streamboot.Storage.BlockDevices;

namespace Streamboot.Sessions.Views;

/// <summary>
/// One connection's hold on a view: the block device to serve, and what it
/// shows. Disposing it (exactly once counts) lets go of the session; the
/// last hold of a device's session ends it.
/// </summary>
public sealed class SessionView : IAsyncDisposable
{
    private readonly Func<ValueTask> _release;
    private int _released;

    internal SessionView(ViewFacts facts, IBlockDevice device, Func<ValueTask> release)
    {
        Facts = facts;
        Device = device;
        _release = release;
    }

    public ViewFacts Facts { get; }

    public IBlockDevice Device { get; }

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 ? _release() : ValueTask.CompletedTask;
}
