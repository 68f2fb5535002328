namespace Streamboot.Admin.Views;

/// <summary>What a server's row says about it.</summary>
public enum ServerState
{
    /// <summary>It beats: its last heartbeat is recent and it recorded no stop.</summary>
    Running,

    /// <summary>It stopped cleanly (SIGTERM, Ctrl+C).</summary>
    Stopped,

    /// <summary>Its heartbeats stopped without a stop: it crashed, hangs, or lost the database.</summary>
    MissingHeartbeats,
}
