using Streamboot.Data;
using Streamboot.Server.Configuration;
using Streamboot.Server.Network;

namespace Streamboot.Server;

/// <summary>
/// What <c>serve</c> makes sure of before it starts anything, so that a
/// refusal is one line and leaves nothing behind: its HTTP and NBD ports
/// are free, and its name is not held by another running server of the
/// site (the returned lock holds it while the server runs).
/// </summary>
public static class ServePreflight
{
    public static string NameOf(StreambootOptions options) => string.IsNullOrWhiteSpace(options.ServerName) ? Environment.MachineName : options.ServerName.Trim();

    /// <summary>The name lock to hold while serving, or the one line that says why serve cannot start.</summary>
    public static async Task<(ServerNameLock? Lock, string? Error)> CheckAsync(StreambootOptions options, DatabaseLocation location, CancellationToken cancellationToken)
    {
        if (ListenPorts.Check(options) is { } portError)
        {
            return (null, portError);
        }

        var name = NameOf(options);
        ServerNameLock? held;
        try
        {
            held = await ServerNameLock.TryAcquireAsync(location, name, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot reach the database ({location.Describe()}) to hold server name '{name}': {e.Message}; check --db / STREAMBOOT_DB");
        }

        return held is null
            ? (null, $"server name '{name}' is held by another running server of this site (see 'streamboot server list'); stop that one, or give this one another name with --server-name")
            : (held, null);
    }
}
