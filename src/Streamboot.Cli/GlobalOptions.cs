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

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };
}
