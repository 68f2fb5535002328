using System.CommandLine;

namespace Streamboot.Cli;

/// <summary>Options every verb accepts, wherever they appear on the line.</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Data = new("--data")
    {
        Description = "Data folder: database, vDisk store, write caches [env: STREAMBOOT_DATA; default: /var/lib/streamboot as root, ~/.local/share/streamboot otherwise]",
        HelpName = "DIR",
        Recursive = true,
    };

    public static readonly Option<string?> Db = new("--db")
    {
        Description = "Database instead of DATA/streamboot.db: postgresql://user:pass@host:5432/db, an Npgsql connection string, or a SQLite file [env: STREAMBOOT_DB]",
        HelpName = "DATABASE",
        Recursive = true,
    };

    public static readonly Option<string?> Server = new("--server")
    {
        Description = "Run the verb on a remote site through its server's admin API, such as https://pvs1:8443; credentials from STREAMBOOT_TOKEN (or STREAMBOOT_USER and STREAMBOOT_PASSWORD), never a flag [env: STREAMBOOT_SERVER]",
        HelpName = "URL",
        Recursive = true,
    };

    public static readonly Option<string?> Ca = new("--ca")
    {
        Description = "With an https:// --server: the CA certificate (PEM) its certificate must chain to, such as the site's DATA/tls/ca-cert.pem [env: STREAMBOOT_CA; default: the system's CAs]",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };
}
