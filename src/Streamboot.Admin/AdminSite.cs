using System.Text.Json;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>
/// What every admin operation works on: the site database, the data folder
/// that holds the vDisk stores, who is making the change (for the audit log),
/// and the farm's settings that some answers are judged by (<see cref="Farm"/>).
/// </summary>
public sealed class AdminSite(SiteDatabase database, string dataFolder, string actor, TimeProvider? clock = null)
{
    private static readonly JsonSerializerOptions s_auditJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public SiteDatabase Database { get; } = database;

    public string DataFolder { get; } = Path.GetFullPath(dataFolder);

    public string Actor { get; } = actor;

    public TimeProvider Clock { get; } = clock ?? TimeProvider.System;

    /// <summary>When a server counts as down or a client as booting, and where a NAT netboot VM finds a server: the caller's settings (the server's own, or the command line's).</summary>
    public FarmSettings Farm { get; init; } = FarmSettings.Default;

    public DateTime UtcNow => Clock.GetUtcNow().UtcDateTime;

    /// <summary>The folder new vDisks are stored in: <c>DATA/vdisks</c>.</summary>
    public string VDiskRoot => Path.Combine(DataFolder, "vdisks");

    /// <summary>A vDisk's store path made absolute (relative paths are relative to the data folder).</summary>
    public string ResolveStorePath(string storePath) =>
        Path.IsPathRooted(storePath) ? storePath : Path.GetFullPath(Path.Combine(DataFolder, storePath));

    /// <summary>Adds the audit entry to the context; it commits with the change it records.</summary>
    public void Audit(StreambootDbContext db, string action, string target, object? details = null) =>
        db.AuditLog.Add(new AuditEntry
        {
            At = UtcNow,
            Actor = Actor,
            Action = action,
            Target = target,
            Details = details is null ? null : JsonSerializer.Serialize(details, s_auditJson),
        });

    /// <summary><c>user@host</c> of whoever runs this process (the sudo caller when run through sudo).</summary>
    public static string CurrentActor()
    {
        var user = Environment.GetEnvironmentVariable("SUDO_USER");
        if (string.IsNullOrEmpty(user))
        {
            user = Environment.UserName;
        }

        return $"{user}@{Environment.MachineName}";
    }
}
