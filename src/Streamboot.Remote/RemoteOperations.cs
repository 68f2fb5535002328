using System.Text.Json;
using Streamboot.Admin;
using Streamboot.Admin.Operations;
using Streamboot.Api.Contracts;
using Streamboot.Api.Contracts.Operations;

namespace Streamboot.Remote;

/// <summary>
/// A long operation through the API (import, merge, capture): the request
/// answers 202 with the operation, which is polled at
/// <c>/api/v1/operations/{id}</c> until it ends, its bytes done reported
/// to the caller's progress as the Admin layer reports them locally. Its
/// outcome is the result a direct call has: the value, or the problem as the
/// same <see cref="AdminError"/>. A request refused before any copying
/// (a bad name, a missing file) is answered at once with that problem.
/// </summary>
internal static class RemoteOperations
{
    public static async Task<AdminResult<T>> RunAsync<T>(
        ApiConnection api,
        string path,
        object? body,
        IProgress<(long Done, long Total)>? progress,
        CancellationToken cancellationToken)
    {
        var started = await api.SendAsync<ApiOperationView>(HttpMethod.Post, path, body ?? new { }, cancellationToken);
        if (!started.Ok)
        {
            return started.Error;
        }

        var operation = started.Value;
        var poll = ApiPaths.Operation(Uri.EscapeDataString(operation.Id));
        while (operation.State == OperationState.Running)
        {
            progress?.Report((operation.DoneBytes, operation.TotalBytes));
            await Task.Delay(api.Settings.PollInterval, cancellationToken);
            var next = await api.GetAsync<ApiOperationView>(poll, cancellationToken);
            if (!next.Ok)
            {
                // The operation goes on at the server whatever happened to this command.
                return new AdminError(next.Error.Kind == AdminErrorKind.NotFound ? AdminErrorKind.Failed : next.Error.Kind,
                    $"{next.Error.Message} (operation {operation.Id}, {operation.Kind} of '{ClientText.ForLog(operation.Target, 64)}', may still run at the server: 'show' it there to see how it ended)");
            }

            operation = next.Value;
        }

        if (operation.State == OperationState.Failed)
        {
            var problem = operation.Problem;
            return problem is null
                ? AdminError.Failed($"operation {operation.Id} failed at the server without saying why")
                : new AdminError(ApiProblems.KindOf(problem.Status, problem.Title), ClientText.ForLog(problem.Detail, 2000));
        }

        progress?.Report((operation.DoneBytes, operation.TotalBytes));
        return operation.Result is JsonElement result
            ? api.Decode<T>(JsonSerializer.SerializeToUtf8Bytes(result), HttpMethod.Get, poll)
            : AdminError.Failed($"operation {operation.Id} succeeded at the server but sent no result; its resource is {ClientText.ForLog(operation.Resource, 200)}");
    }
}
