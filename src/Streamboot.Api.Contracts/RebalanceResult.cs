using Streamboot.Admin.Rebalancing;

namespace Streamboot.Api.Contracts;

/// <summary>What a rebalance or a drain with a move did (or, dry, would do): as <c>server rebalance --json</c> prints it.</summary>
public sealed record RebalanceResult(bool DryRun, string? Skipped, IReadOnlyList<ServerShare> Shares, IReadOnlyList<RebalanceMove> Moves)
{
    public static RebalanceResult Of(RebalancePlan plan, bool dryRun) => new(dryRun, plan.Skipped, plan.Shares, plan.Moves);

    public RebalancePlan Plan() => new(Shares, Moves, Skipped);
}
