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

    /// <summary>
    /// Where clients reach it: addresses with their prefix length
    /// (<c>10.0.0.2/24</c>), comma-separated; the boot script of another
    /// server sends a client to the one on the client's subnet.
    /// </summary>
    public string? Addresses { get; set; }

    public int NbdPort { get; set; }

    /// <summary>0: its iSCSI target is off.</summary>
    public int IscsiPort { get; set; }

    /// <summary>Its power rating: new boots go to the server with the lowest load per weight.</summary>
    public int Weight { get; set; } = 1;

    /// <summary>Clients that may boot from it at once; more wait their turn (0: no limit).</summary>
    public int MaxBooting { get; set; }

    /// <summary>Its load at its last heartbeat: device sessions it streams.</summary>
    public int LiveSessions { get; set; }

    /// <summary>Its load at its last heartbeat: clients booting from it.</summary>
    public int Booting { get; set; }

    /// <summary>Its load at its last heartbeat: bytes per second it streamed.</summary>
    public long BytesPerSecond { get; set; }
}
