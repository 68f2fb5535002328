using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Streamboot.Data;

/// <summary>
/// What a failed write means, read from either database's error, in one
/// place: callers ask "which unique index refused it" and never parse
/// provider messages themselves.
/// </summary>
public static class DbErrors
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintForeignKey = 787;

    /// <summary>
    /// When <paramref name="exception"/> is a unique-constraint violation,
    /// returns the index or column it names (<c>ux_devices_name</c>,
    /// <c>devices.mac</c>); otherwise null.
    /// </summary>
    public static string? UniqueViolation(DbUpdateException exception)
    {
        switch (exception.InnerException)
        {
            case PostgresException pg when pg.SqlState == PostgresErrorCodes.UniqueViolation:
                return pg.ConstraintName ?? "";
            case SqliteException sqlite when sqlite.SqliteErrorCode == SqliteConstraint && sqlite.SqliteExtendedErrorCode != SqliteConstraintForeignKey:
                // "UNIQUE constraint failed: index 'ux_devices_name'" or "...: devices.mac"
                var message = sqlite.Message;
                var at = message.IndexOf("failed: ", StringComparison.Ordinal);
                return at < 0 ? "" : message[(at + "failed: ".Length)..].Replace("index ", "", StringComparison.Ordinal).Trim('\'', ' ', '.');
            default:
                return null;
        }
    }

    public static bool IsForeignKeyViolation(DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException pg => pg.SqlState == PostgresErrorCodes.ForeignKeyViolation,
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode == SqliteConstraintForeignKey,
        _ => false,
    };
}
