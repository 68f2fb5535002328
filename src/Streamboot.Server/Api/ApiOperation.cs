using Streamboot.Api.Contracts.Operations;

namespace Streamboot.Server.Api;

/// <summary>One long operation of <see cref="ApiOperations"/>: written by its task, read by whoever polls.</summary>
internal sealed class ApiOperation(string id, string kind, string target, string actor, string? resource, DateTime startedAt)
{
    private readonly Lock _lock = new();
    private long _done;
    private long _total;
    private ApiOperationState _state = ApiOperationState.Running;
    private DateTime? _finishedAt;
    private object? _result;
    private ApiOperationProblem? _problem;
    private readonly TaskCompletionSource _underWay = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Id { get; } = id;

    public string Kind { get; } = kind;

    public string Target { get; } = target;

    public string Location => Streamboot.Api.Contracts.ApiPaths.Operation(Id);

    public ApiOperationState State
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

    /// <summary>
    /// Done when the operation reported its first bytes or finished: the
    /// Admin layer checks a request before it copies anything, so an
    /// operation still running then was accepted.
    /// </summary>
    public Task UnderWay => _underWay.Task;

    public ApiOperationProblem? Problem
    {
        get
        {
            lock (_lock)
            {
                return _problem;
            }
        }
    }

    public void Progress(long done, long total)
    {
        Interlocked.Exchange(ref _total, total);
        Interlocked.Exchange(ref _done, done);
        _underWay.TrySetResult();
    }

    public void Succeed(object result, DateTime at)
    {
        lock (_lock)
        {
            _result = result;
            _state = ApiOperationState.Succeeded;
            _finishedAt = at;
            // A copy that reported nothing (an empty disk) is still all done.
            Interlocked.Exchange(ref _done, Interlocked.Read(ref _total));
        }

        _underWay.TrySetResult();
    }

    public void Fail(int status, string title, string detail, DateTime at)
    {
        lock (_lock)
        {
            _problem = new ApiOperationProblem(status, title, detail);
            _state = ApiOperationState.Failed;
            _finishedAt = at;
        }

        _underWay.TrySetResult();
    }

    public ApiOperationView View()
    {
        lock (_lock)
        {
            return new ApiOperationView(
                Id,
                Kind,
                Target,
                actor,
                _state,
                Interlocked.Read(ref _done),
                Interlocked.Read(ref _total),
                startedAt,
                _finishedAt,
                _state == ApiOperationState.Succeeded ? resource : null,
                _result,
                _problem);
        }
    }
}
