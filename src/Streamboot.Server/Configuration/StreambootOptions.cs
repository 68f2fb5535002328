namespace Streamboot.Server.Configuration;

/// <summary>
/// The <c>Streamboot</c> configuration section. Sources, later winning:
/// appsettings.json beside the program, /etc/streamboot/appsettings.json,
/// <c>STREAMBOOT_*</c> environment variables, command-line flags.
/// </summary>
public sealed class StreambootOptions
{
    public const string Section = "Streamboot";

    /// <summary>The data folder: database, vDisk store, write caches.</summary>
    public string? Data { get; set; }

    /// <summary>A database other than the embedded SQLite file (PostgreSQL URL or connection string).</summary>
    public string? Db { get; set; }

    /// <summary>Address the server's ports listen on.</summary>
    public string Bind { get; set; } = "0.0.0.0";

    public int HttpPort { get; set; } = 8080;

    /// <summary>NBD port (10809 is NBD's IANA port).</summary>
    public int NbdPort { get; set; } = 10809;

    /// <summary>MiB of the shared read cache for each vDisk version being streamed.</summary>
    public int ReadCacheMiB { get; set; } = 256;

    /// <summary>MiB of RAM each server-ram write cache may hold before it overflows to disk.</summary>
    public int RamWriteCacheMiB { get; set; } = 256;

    /// <summary>This server's name in the farm; the host name by default.</summary>
    public string? ServerName { get; set; }

    /// <summary>Seconds a boot menu waits before it boots the default vDisk.</summary>
    public int BootMenuSeconds { get; set; } = 10;

    /// <summary>Seconds a refused or failed client waits before it asks for its boot script again.</summary>
    public int BootRetrySeconds { get; set; } = 30;

    /// <summary>Seconds between heartbeats written to the servers table.</summary>
    public int HeartbeatSeconds { get; set; } = 10;
}
