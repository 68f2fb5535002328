namespace Streamboot.Protocols.Dhcp.Boot;

/// <summary>
/// The host's answer to "what does this PXE client boot?" (pixiecore's
/// Booter). Asked for every DISCOVER, REQUEST and INFORM of a PXE client, and
/// for every request on port 4011, from several packets at once; keep it
/// quick (cache what the database says).
/// </summary>
public interface IDhcpBootPolicy
{
    ValueTask<DhcpBootDecision> DecideAsync(DhcpBootRequest request, CancellationToken cancellationToken);
}
