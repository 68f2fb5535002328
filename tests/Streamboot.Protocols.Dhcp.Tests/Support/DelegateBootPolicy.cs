using Streamboot.Protocols.Dhcp.Boot;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>A boot policy made of a function, for tests that decide late (a port known only after start).</summary>
public sealed class DelegateBootPolicy(Func<DhcpBootRequest, DhcpBootDecision> decide) : IDhcpBootPolicy
{
    public ValueTask<DhcpBootDecision> DecideAsync(DhcpBootRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(decide(request));
}
