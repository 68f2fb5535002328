using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Streamboot.Admin.Operations;

/// <summary>
/// The server's long operations (an import, a merge, a capture copy
/// gigabytes), whoever started them: the admin API and the web console
/// share this one registry, so its bounds hold for both and two front ends
/// never run two operations on one vDisk. Each runs in the background,
/// reports bytes done through the Admin layer's <see cref="IProgress{T}"/>
/// hook, and is polled by id. Bounded: at most
/// <see cref="OperationLimits.MaxRunning"/> run at once, one per target
/// (two imports of one name would race for its folder), at most
/// <see cref="OperationLimits.MaxKept"/> are remembered, finished ones for
/// <see cref="OperationLimits.KeepFor"/>. <paramref name="stopping"/>
/// (the server stopping) cancels what runs; the Admin layer then removes
/// its partial files. <paramref name="crashed"/> hears of an exception the
/// Admin layer did not turn into an error (the host logs it).
/// </summary>
public sealed class SiteOperations(OperationLimits limits, TimeProvider clock, CancellationToken stopping, Action<SiteOperation, Exception>? crashed = null)
{
    private readonly ConcurrentDictionary<string, SiteOperation> _operations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SiteOperation, Task> _tasks = new();
    private readonly Lock _starting = new();

    private int MaxRunning => Math.Max(1, limits.MaxRunning);

    private int MaxKept => Math.Max(MaxRunning, limits.MaxKept);

    private TimeSpan KeepFor => limits.KeepFor > TimeSpan.Zero ? limits.KeepFor : TimeSpan.FromSeconds(1);

    /// <summary>
    /// Starts <paramref name="run"/> in the background, or says why not: a
    /// conflict (one already runs on <paramref name="target"/>) or busy
    /// (as many run as may).
    /// </summary>
    public AdminResult<SiteOperation> Start(
        string kind,
        string target,
        string actor,
        Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run)
    {
        SiteOperation operation;
        lock (_starting)
        {
            Forget();
            var running = _operations.Values.Where(o => o.State == OperationState.Running).ToList();
            if (running.FirstOrDefault(o => o.Target.Equals(target, StringComparison.OrdinalIgnoreCase)) is { } same)
            {
                return AdminError.Conflict($"operation {same.Id} ({same.Kind} of '{same.Target}', started by {same.Actor}) is still running; wait for it to finish");
            }

            if (running.Count >= MaxRunning)
            {
                return AdminError.Busy($"{running.Count} operations are running, the most this server runs at once (STREAMBOOT_API_MAX_RUNNING_OPERATIONS); wait for one to finish and try again");
            }

            // Room for one more: the oldest finished ones go first (running ones are fewer than the limit).
            foreach (var old in _operations.Values.Where(o => o.State != OperationState.Running).OrderBy(o => o.FinishedAt).Take(Math.Max(0, _operations.Count - MaxKept + 1)).ToList())
            {
                _operations.TryRemove(old.Id, out _);
            }

            operation = new SiteOperation(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), kind, target, actor, clock.GetUtcNow().UtcDateTime);
            _operations[operation.Id] = operation;
        }

        _tasks[operation] = Task.Run(async () =>
        {
            await RunAsync(operation, run);
            _tasks.TryRemove(operation, out _);
        });
        return operation;
    }

    /// <summary>
    /// Starts the operation and returns once it is under way; when the Admin
    /// layer refused the request before copying anything (a bad name, a
    /// missing file, a duplicate) that refusal instead, as a direct call
    /// would have said it, and the operation is not kept. One that has
    /// neither started nor failed within <paramref name="settle"/> is
    /// returned running, to be polled like the rest.
    /// </summary>
    public async Task<AdminResult<SiteOperation>> StartAsync(
        string kind,
        string target,
        string actor,
        Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run,
        TimeSpan settle,
        CancellationToken cancellationToken)
    {
        var started = Start(kind, target, actor, run);
        if (!started.Ok)
        {
            return started.Error;
        }

        var operation = started.Value;
        await Task.WhenAny(operation.UnderWay, Task.Delay(settle, clock, cancellationToken));
        if (operation.State == OperationState.Failed && operation.Error is { Kind: not AdminErrorKind.Failed } refused && !operation.StoppedByServer)
        {
            _operations.TryRemove(operation.Id, out _);
            return refused;
        }

        return operation;
    }

    public SiteOperation? Find(string id)
    {
        Forget();
        return _operations.TryGetValue(id, out var operation) ? operation : null;
    }

    /// <summary>The operations remembered, newest first.</summary>
    public IReadOnlyList<SiteOperation> List()
    {
        Forget();
        return [.. _operations.Values.OrderByDescending(o => o.StartedAt).ThenBy(o => o.Id, StringComparer.Ordinal)];
    }

    /// <summary>Waits for the running operations to end (after the server stopping cancelled them), as long as <paramref name="cancellationToken"/> allows.</summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_tasks.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time: what is left is left.
        }
    }

    private async Task RunAsync(SiteOperation operation, Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run)
    {
        try
        {
            var result = await run(new ProgressRelay<(long Done, long Total)>(p => operation.Progress(p.Done, p.Total)), stopping);
            if (result.Ok)
            {
                operation.Succeed(result.Value, clock.GetUtcNow().UtcDateTime);
            }
            else
            {
                operation.Fail(result.Error, clock.GetUtcNow().UtcDateTime);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            operation.Fail(AdminError.Failed("the server stopped before the operation finished; its partial files were removed, start it again"), clock.GetUtcNow().UtcDateTime, stopped: true);
        }
        catch (Exception e)
        {
            // Nobody awaits this task: what went wrong is kept on the operation and told to the host, never lost.
            crashed?.Invoke(operation, e);
            operation.Fail(AdminError.Failed($"the operation failed: {ClientText.ForLog(e.Message, 300)}"), clock.GetUtcNow().UtcDateTime);
        }
    }

    /// <summary>Drops finished operations older than <see cref="KeepFor"/>.</summary>
    private void Forget()
    {
        var before = clock.GetUtcNow().UtcDateTime - KeepFor;
        foreach (var old in _operations.Values.Where(o => o.FinishedAt is { } at && at < before))
        {
            _operations.TryRemove(old.Id, out _);
        }
    }
}
