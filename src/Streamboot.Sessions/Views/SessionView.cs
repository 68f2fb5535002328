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
    private readonly Func<bool> _ended;
    private int _released;

    internal SessionView(ViewFacts facts, IBlockDevice device, Func<ValueTask> release, Func<bool> ended)
    {
        Facts = facts;
        Device = device;
        _release = release;
        _ended = ended;
    }

    public ViewFacts Facts { get; }

    public IBlockDevice Device { get; }

    /// <summary>
    /// The session was ended under its holders (a newer boot of the device,
    /// or its vDisk version was deleted): every request fails, and a front
    /// end that keeps views between requests (HTTP) opens the name again.
    /// </summary>
    public bool Ended => _ended();

    /// <summary>Cancelled when the session moves to another server: a front end closes the connection at once.</summary>
    public CancellationToken Moved { get; init; }

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 ? _release() : ValueTask.CompletedTask;
}
