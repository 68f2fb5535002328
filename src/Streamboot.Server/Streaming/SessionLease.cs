using Streamboot.Admin;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Streaming;

/// <summary>One connection's hold on a session: the device to serve, released exactly once when the connection ends.</summary>
public sealed class SessionLease : IAsyncDisposable
{
    private readonly Func<ValueTask> _release;
    private int _released;

    internal SessionLease(StreamPlan plan, IBlockDevice device, Func<ValueTask> release)
    {
        Plan = plan;
        Device = device;
        _release = release;
    }

    public StreamPlan Plan { get; }

    public IBlockDevice Device { get; }

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 ? _release() : ValueTask.CompletedTask;
}
