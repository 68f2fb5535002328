using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Rebalancing;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts;
using Streamboot.Api.Contracts.Requests;

namespace Streamboot.Remote;

/// <summary>The farm's servers through <c>/servers</c>, judged by the server's own settings.</summary>
internal sealed class RemoteServers(ApiConnection api) : IServerAdmin
{
    public Task<AdminResult<IReadOnlyList<ServerView>>> ListAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<ServerView>>(Paths.Of("servers"), cancellationToken);

    public Task<AdminResult<string>> DrainAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<string>(HttpMethod.Post, Paths.Of("servers", name, "drain"), null, cancellationToken);

    public async Task<AdminResult<RebalancePlan>> DrainAndMoveAsync(string name, CancellationToken cancellationToken = default) =>
        Plan(await api.SendAsync<RebalanceResult>(HttpMethod.Post, Paths.Query(Paths.Of("servers", name, "drain"), ("move", true)), null, cancellationToken));

    public Task<AdminResult<string>> EnableAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<string>(HttpMethod.Post, Paths.Of("servers", name, "enable"), null, cancellationToken);

    public Task<AdminResult<string>> SetWeightAsync(string name, int weight, CancellationToken cancellationToken = default) =>
        api.SendAsync<string>(HttpMethod.Patch, Paths.Of("servers", name), new ServerChange(weight), cancellationToken);

    public Task<AdminResult<string>> RemoveAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<string>(HttpMethod.Delete, Paths.Of("servers", name), null, cancellationToken);

    public async Task<AdminResult<RebalancePlan>> RebalanceAsync(bool dryRun, CancellationToken cancellationToken = default) =>
        Plan(await api.SendAsync<RebalanceResult>(HttpMethod.Post, Paths.Query(Paths.Of("servers", "rebalance"), ("dryRun", dryRun)), null, cancellationToken));

    private static AdminResult<RebalancePlan> Plan(AdminResult<RebalanceResult> result) => result.Ok ? result.Value.Plan() : result.Error;
}
