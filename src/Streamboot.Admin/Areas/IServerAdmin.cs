using Streamboot.Admin.Rebalancing;
using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>
/// The farm's servers: <see cref="ServerAdmin"/> (judging liveness by the
/// caller's <see cref="FarmSettings"/>), or the API's <c>/servers</c> (by the server's).
/// </summary>
public interface IServerAdmin
{
    Task<AdminResult<IReadOnlyList<ServerView>>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>No new boots go to the server; the sessions it streams go on. The answer is its name.</summary>
    Task<AdminResult<string>> DrainAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Drains the server and asks it to move its movable live sessions to the others.</summary>
    Task<AdminResult<RebalancePlan>> DrainAndMoveAsync(string name, CancellationToken cancellationToken = default);

    Task<AdminResult<string>> EnableAsync(string name, CancellationToken cancellationToken = default);

    Task<AdminResult<string>> SetWeightAsync(string name, int weight, CancellationToken cancellationToken = default);

    /// <summary>Removes the row of a server that is not running.</summary>
    Task<AdminResult<string>> RemoveAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Plans moves that even the load by weight and, unless <paramref name="dryRun"/>, asks the servers to make them.</summary>
    Task<AdminResult<RebalancePlan>> RebalanceAsync(bool dryRun, CancellationToken cancellationToken = default);
}
