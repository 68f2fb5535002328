namespace Streamboot.Admin.Views;

/// <summary>
/// A server of the site as <c>server list</c> shows it: its state, where
/// clients reach it, its weight and whether it takes new boots (drained:
/// not), and its load now (live device sessions and boots placed on it in
/// the booting window, from the database) and at its last heartbeat (bytes/s).
/// </summary>
public sealed record ServerView(string Name, string? Address, int HttpPort, bool Enabled, string? Version, DateTime StartedAt, DateTime LastHeartbeatAt, ServerState State, DateTime? StoppedAt)
{
    public string? Addresses { get; init; }

    public int NbdPort { get; init; }

    public int IscsiPort { get; init; }

    public int Weight { get; init; } = 1;

    public int MaxBooting { get; init; }

    public int Sessions { get; init; }

    public int Booting { get; init; }

    public long BytesPerSecond { get; init; }
}
