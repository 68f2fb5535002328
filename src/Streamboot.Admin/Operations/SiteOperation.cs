namespace Streamboot.Admin.Operations;

/// <summary>
/// One long operation of <see cref="SiteOperations"/> (an import, a merge, a
/// capture): written by its task, read by whoever polls it (the API's
/// <c>/operations/{id}</c>, the console's progress bar).
/// </summary>
public sealed class SiteOperation
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _underWay = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _done;
    private long _total;
    private OperationState _state = OperationState.Running;
    private DateTime? _finishedAt;
    private object? _result;
    private AdminError? _error;
    private bool _stopped;

    internal SiteOperation(string id, string kind, string target, string actor, DateTime startedAt)
    {
        Id = id;
        Kind = kind;
        Target = target;
        Actor = actor;
        StartedAt = startedAt;
    }

    /// <summary>128 random bits as hex: an operation's id says nothing about the others and cannot be guessed.</summary>
    public string Id { get; }

    /// <summary>What it does, as the audit log names it: <c>vdisk.import</c>, <c>vdisk.version.merge</c>, <c>vm.capture</c>.</summary>
    public string Kind { get; }

    /// <summary>The vDisk it makes or changes; one operation per target runs at a time.</summary>
    public string Target { get; }

    public string Actor { get; }

    public DateTime StartedAt { get; }

    public long Done => Interlocked.Read(ref _done);

    /// <summary>Bytes to copy; 0 until the copy starts.</summary>
    public long Total => Interlocked.Read(ref _total);

    public OperationState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    public DateTime? FinishedAt
    {
        get
        {
            lock (_lock)
            {
                return _finishedAt;
            }
        }
    }

    /// <summary>What a succeeded operation made (the vDisk's view).</summary>
    public object? Result
    {
        get
        {
            lock (_lock)
            {
                return _result;
            }
        }
    }

    /// <summary>Why a failed operation failed: the Admin layer's one line.</summary>
    public AdminError? Error
    {
        get
        {
            lock (_lock)
            {
                return _error;
            }
        }
    }

    /// <summary>It failed because the server stopped (its partial files were removed): start it again.</summary>
    public bool StoppedByServer
    {
        get
        {
            lock (_lock)
            {
                return _stopped;
            }
        }
    }

    /// <summary>
    /// Done when the operation reported its first bytes or finished: the
    /// Admin layer checks a request before it copies anything, so an
    /// operation still running then was accepted.
    /// </summary>
    public Task UnderWay => _underWay.Task;

    internal void Progress(long done, long total)
    {
        Interlocked.Exchange(ref _total, total);
        Interlocked.Exchange(ref _done, done);
        _underWay.TrySetResult();
    }

    internal void Succeed(object result, DateTime at)
    {
        lock (_lock)
        {
            _result = result;
            _state = OperationState.Succeeded;
            _finishedAt = at;
            // A copy that reported nothing (an empty disk) is still all done.
            Interlocked.Exchange(ref _done, Interlocked.Read(ref _total));
        }

        _underWay.TrySetResult();
    }

    internal void Fail(AdminError error, DateTime at, bool stopped = false)
    {
        lock (_lock)
        {
            _error = error;
            _state = OperationState.Failed;
            _finishedAt = at;
            _stopped = stopped;
        }

        _underWay.TrySetResult();
    }
}
