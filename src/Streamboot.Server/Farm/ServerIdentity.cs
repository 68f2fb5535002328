namespace Streamboot.Server.Farm;

/// <summary>This server's row in the servers table, once registered.</summary>
public sealed class ServerIdentity
{
    public required string Name { get; init; }

    public long Id { get; set; }
}
