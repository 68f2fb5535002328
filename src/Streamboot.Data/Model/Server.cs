namespace Streamboot.Data.Model;

/// <summary>A Streamboot server of the site (one for the embedded default, several in a farm).</summary>
public sealed class Server
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string? Address { get; set; }

    public int HttpPort { get; set; }

    public bool Enabled { get; set; } = true;

    public DateTime StartedAt { get; set; }

    public DateTime LastHeartbeatAt { get; set; }

    /// <summary>When it stopped cleanly; null while it runs, or when it died without saying so.</summary>
    public DateTime? StoppedAt { get; set; }

    public string? Version { get; set; }
}
