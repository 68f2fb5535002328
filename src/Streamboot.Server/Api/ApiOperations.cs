using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streamboot.Admin;
using Streamboot.Admin.Operations;
using Streamboot.Api.Contracts.Operations;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Api;

/// <summary>
/// The admin API's side of the site's long operations
/// (<see cref="SiteOperations"/>, shared with the web console): 202 Accepted
/// with the operation's <c>Location</c>, its view at
/// <c>/api/v1/operations/{id}</c>, and a refusal as the problem a direct
/// call would have answered (429 when as many run as may).
/// </summary>
internal static partial class ApiOperations
{
    /// <summary>The registry with the server's bounds; the server stopping cancels what runs.</summary>
    public static void AddServices(IServiceCollection services, StreambootOptions options)
    {
        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Streamboot.Server.Api.ApiOperations");
            return new SiteOperations(
                new OperationLimits(options.ApiMaxRunningOperations, options.ApiMaxOperations, TimeSpan.FromSeconds(Math.Max(1, options.ApiOperationKeepSeconds))),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping,
                (operation, e) => LogFailed(logger, e, operation.Kind, ClientText.ForLog(operation.Target, 64)));
        });
        services.AddHostedService<Shutdown>();
    }

    /// <summary>
    /// Starts the operation and answers once it is under way: 202 Accepted
    /// with its <c>Location</c>, or the Admin layer's refusal at once (a bad
    /// name, a missing file, one already running on the target).
    /// </summary>
    public static async Task<IResult> AcceptAsync(
        HttpContext context,
        string kind,
        string target,
        Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> run)
    {
        var operations = context.RequestServices.GetRequiredService<SiteOperations>();
        var started = await operations.StartAsync(kind, target, AdminApi.SiteFor(context).Actor, run, ApiVDiskRoutes.Settle, context.RequestAborted);
        return started.Ok ? Results.Accepted(Location(started.Value), View(started.Value)) : ApiResults.Problem(started.Error);
    }

    public static string Location(SiteOperation operation) => Streamboot.Api.Contracts.ApiPaths.Operation(operation.Id);

    /// <summary>
    /// The operation as the API shows it. Every kind of operation makes or
    /// changes the vDisk it targets: a succeeded one names that vDisk's URL.
    /// </summary>
    public static ApiOperationView View(SiteOperation operation)
    {
        var state = operation.State;
        var error = operation.Error;
        return new ApiOperationView(
            operation.Id,
            operation.Kind,
            operation.Target,
            operation.Actor,
            state,
            operation.Done,
            operation.Total,
            operation.StartedAt,
            operation.FinishedAt,
            state == OperationState.Succeeded ? $"{AdminApi.Prefix}/vdisks/{Uri.EscapeDataString(operation.Target)}" : null,
            state == OperationState.Succeeded ? operation.Result : null,
            state != OperationState.Failed || error is null ? null
                : operation.StoppedByServer ? new ApiOperationProblem(StatusCodes.Status503ServiceUnavailable, "server stopped", error.Message)
                : new ApiOperationProblem(ApiResults.StatusOf(error.Kind), ApiResults.TitleOf(error.Kind), error.Message));
    }

    [LoggerMessage(1063, LogLevel.Error, "operation {Kind} of {Target} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string kind, string target);

    /// <summary>
    /// The host cancelled the running operations (ApplicationStopping comes
    /// first); wait for the Admin layer to remove their partial files before
    /// the process goes, as long as the host's shutdown allows.
    /// </summary>
    private sealed class Shutdown(SiteOperations operations) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => operations.WhenIdleAsync(cancellationToken);
    }
}
