using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Api.Contracts.Operations;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Api;

/// <summary>
/// The admin API's long operations (an import, a merge, a capture copy
/// gigabytes): each runs in the background after a 202 Accepted, reports
/// bytes done through the Admin layer's <see cref="IProgress{T}"/> hook, and
/// is polled at <c>/api/v1/operations/{id}</c>. What the server holds is
/// bounded: at most <see cref="StreambootOptions.ApiMaxRunningOperations"/>
/// run at once (each one reads and writes a whole disk; more would only
/// share the same disks' bandwidth), one per target (two imports of one name
/// would race for its folder), and at most
/// <see cref="StreambootOptions.ApiMaxOperations"/> are remembered, finished
/// ones for <see cref="StreambootOptions.ApiOperationKeepSeconds"/>. A server
/// that stops cancels what runs; the Admin layer then removes its partial files.
/// </summary>
internal sealed partial class ApiOperations(IOptions<StreambootOptions> options, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<ApiOperations> logger)
    : IHostedService
{
    private readonly ConcurrentDictionary<ApiOperation, Task> _tasks = new();
    private readonly ConcurrentDictionary<string, ApiOperation> _operations = new(StringComparer.Ordinal);
    private readonly Lock _starting = new();

    private int MaxRunning => Math.Max(1, options.Value.ApiMaxRunningOperations);

    private int MaxKept => Math.Max(MaxRunning, options.Value.ApiMaxOperations);

    private TimeSpan KeepFor => TimeSpan.FromSeconds(Math.Max(1, options.Value.ApiOperationKeepSeconds));

    /// <summary>
    /// Starts <paramref name="run"/> in the background, or says why not: a
    /// problem with status 429 (too many running) or 409 (one already runs on
    /// <paramref name="target"/>).
    /// </summary>
    public (ApiOperation? Operation, IResult? Refusal) Start(
        string kind,
        string target,
        string actor,
        string? resource,
        Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run)
    {
        ApiOperation operation;
        lock (_starting)
        {
            Forget();
            var running = _operations.Values.Where(o => o.State == ApiOperationState.Running).ToList();
            if (running.FirstOrDefault(o => o.Target.Equals(target, StringComparison.OrdinalIgnoreCase)) is { } same)
            {
                return (null, ApiResults.Problem(AdminError.Conflict($"operation {same.Id} ({same.Kind} of '{same.Target}') is still running; wait for it (GET /api/v1/operations/{same.Id})")));
            }

            if (running.Count >= MaxRunning)
            {
                return (null, Results.Problem(
                    detail: $"{running.Count} operations are running, the most this server runs at once (STREAMBOOT_API_MAX_RUNNING_OPERATIONS); wait for one to finish and try again",
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "too many operations"));
            }

            // Room for one more: the oldest finished ones go first (running ones are fewer than the limit).
            foreach (var old in _operations.Values.Where(o => o.State != ApiOperationState.Running).OrderBy(o => o.FinishedAt).Take(Math.Max(0, _operations.Count - MaxKept + 1)).ToList())
            {
                _operations.TryRemove(old.Id, out _);
            }

            operation = new ApiOperation(NewId(), kind, target, actor, resource, clock.GetUtcNow().UtcDateTime);
            _operations[operation.Id] = operation;
        }

        _tasks[operation] = Task.Run(async () =>
        {
            await RunAsync(operation, run);
            _tasks.TryRemove(operation, out _);
        });
        return (operation, null);
    }

    /// <summary>
    /// Starts the operation and answers once it is under way: 202 Accepted
    /// with its <c>Location</c>, or, when the Admin layer refused the request
    /// before copying anything (a bad name, a missing file), that problem at
    /// once, as a direct call would have answered it; such an operation is
    /// not kept. One that has neither started nor failed within
    /// <paramref name="settle"/> is accepted and polled like the rest.
    /// </summary>
    public async Task<IResult> AcceptAsync(
        string kind,
        string target,
        string actor,
        string? resource,
        Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run,
        TimeSpan settle,
        CancellationToken cancellationToken)
    {
        var (operation, refusal) = Start(kind, target, actor, resource, run);
        if (operation is null)
        {
            return refusal!;
        }

        await Task.WhenAny(operation.UnderWay, Task.Delay(settle, clock, cancellationToken));
        if (operation.State == ApiOperationState.Failed && operation.Problem is { } problem && problem.Status < StatusCodes.Status500InternalServerError)
        {
            _operations.TryRemove(operation.Id, out _);
            return Results.Problem(detail: problem.Detail, statusCode: problem.Status, title: problem.Title);
        }

        return Results.Accepted(operation.Location, operation.View());
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The host cancelled the running operations (ApplicationStopping comes
    /// first); wait for the Admin layer to remove their partial files before
    /// the process goes, as long as the host's shutdown allows.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_tasks.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown timed out: what is left is left.
        }
    }

    public ApiOperation? Find(string id)
    {
        Forget();
        return _operations.TryGetValue(id, out var operation) ? operation : null;
    }

    private async Task RunAsync(ApiOperation operation, Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run)
    {
        var progress = new ProgressTo(operation);
        try
        {
            var result = await run(progress, lifetime.ApplicationStopping);
            if (result.Ok)
            {
                operation.Succeed(result.Value, clock.GetUtcNow().UtcDateTime);
            }
            else
            {
                operation.Fail(ApiResults.StatusOf(result.Error.Kind), ApiResults.TitleOf(result.Error.Kind), result.Error.Message, clock.GetUtcNow().UtcDateTime);
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            operation.Fail(StatusCodes.Status503ServiceUnavailable, "server stopped", "the server stopped before the operation finished; its partial files were removed, start it again", clock.GetUtcNow().UtcDateTime);
        }
        catch (Exception e)
        {
            LogFailed(logger, e, operation.Kind, ClientText.ForLog(operation.Target, 64));
            operation.Fail(StatusCodes.Status500InternalServerError, "failed", $"the operation failed: {ClientText.ForLog(e.Message, 300)}", clock.GetUtcNow().UtcDateTime);
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

    /// <summary>128 random bits: an operation's id says nothing about the others and cannot be guessed.</summary>
    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    [LoggerMessage(1063, LogLevel.Error, "API: operation {Kind} of {Target} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string kind, string target);

    /// <summary>Progress straight into the operation, on the reporting thread (as the Admin layer's ProgressRelay).</summary>
    private sealed class ProgressTo(ApiOperation operation) : IProgress<(long Done, long Total)>
    {
        public void Report((long Done, long Total) value) => operation.Progress(value.Done, value.Total);
    }
}
