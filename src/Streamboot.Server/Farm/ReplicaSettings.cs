using Microsoft.Extensions.Configuration;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Farm;

/// <summary>
/// How a server keeps its copies in a replicated store: each a
/// <c>Streamboot:Replica...</c> setting (<c>STREAMBOOT_REPLICA_SCRUB_SECONDS</c>...).
/// </summary>
public sealed class ReplicaSettings
{
    /// <summary>Seconds between passes over the site's versions (new versions, changed files, copies to start).</summary>
    public int ReplicaPassSeconds { get; set; } = 5;

    /// <summary>Seconds after which a verified copy is hashed again even though its file looks unchanged (bit rot, writes behind the file system's back).</summary>
    public int ReplicaScrubSeconds { get; set; } = 24 * 3600;

    /// <summary>MiB/s the scrub may read (it competes with clients' reads); 0 unlimited.</summary>
    public int ReplicaScrubMiBPerSecond { get; set; } = 200;

    /// <summary>Copies this server fetches at once.</summary>
    public int ReplicaCopiesAtOnce { get; set; } = 2;

    /// <summary>MiB/s all of this server's copies together may fetch; 0 unlimited.</summary>
    public int ReplicaCopyMiBPerSecond { get; set; }

    /// <summary>Copies this server hands out to other servers at once; more are answered 503 and go elsewhere.</summary>
    public int ReplicaUploadsAtOnce { get; set; } = 4;

    /// <summary>Seconds a copy may go without a byte arriving before it is abandoned and tried elsewhere.</summary>
    public int ReplicaStallSeconds { get; set; } = 60;

    public static ReplicaSettings From(IConfiguration configuration)
    {
        var settings = new ReplicaSettings();
        configuration.GetSection(StreambootOptions.Section).Bind(settings);
        return settings;
    }
}
