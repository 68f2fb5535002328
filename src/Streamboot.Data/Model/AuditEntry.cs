namespace Streamboot.Data.Model;

/// <summary>One change an admin made, written in the same transaction as the change.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }

    public DateTime At { get; set; }

    /// <summary>Who: <c>user@host</c> for the command line, the API user later.</summary>
    public required string Actor { get; set; }

    /// <summary>What, as <c>noun.verb</c>: <c>device.add</c>, <c>vdisk.delete</c>.</summary>
    public required string Action { get; set; }

    /// <summary>The name of the object changed.</summary>
    public required string Target { get; set; }

    /// <summary>The change, as JSON.</summary>
    public string? Details { get; set; }
}
