namespace Streamboot.Admin.Views;

public sealed record ServerView(string Name, string? Address, int HttpPort, bool Enabled, string? Version, DateTime StartedAt, DateTime LastHeartbeatAt, ServerState State, DateTime? StoppedAt);
