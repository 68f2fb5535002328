namespace Streamboot.Data;

/// <summary>A writer's turn at a SQLite file (<see cref="SiteDatabase.WriteTurnAsync"/>); disposing it lets the next writer go.</summary>
public sealed class WriteTurn : IDisposable
{
    private SemaphoreSlim? _gate;

    internal WriteTurn(SemaphoreSlim gate) => _gate = gate;

    public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Release();
}
