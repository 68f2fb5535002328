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

    // SQLite names the columns of a unique index over plain columns, not the
    // index; these are the migrations' names for those column sets, so both
    // databases report the same thing.
    private static readonly Dictionary<string, string> s_sqliteColumnsToIndex = new(StringComparer.Ordinal)
    {
        ["devices.mac"] = "ux_devices_mac",
        ["devices.machine_id"] = "ux_devices_machine_id",
        ["devices.ip_address"] = "ux_devices_ip_address",
        ["assignments.device_id"] = "ux_assignments_default",
        ["assignments.device_id, assignments.vdisk_id"] = "pk_assignments",
        ["sessions.device_id"] = "ux_sessions_live_device",
        ["vdisk_versions.vdisk_id, vdisk_versions.number"] = "ux_vdisk_versions_number",
        ["boots.device_id"] = "ux_boots_running",
    };
    private const int SqliteConstraintForeignKey = 787;

    /// <summary>
    /// When <paramref name="exception"/> is a unique-constraint violation,
    /// returns the name of the unique index it broke (<c>ux_devices_name</c>,
    /// <c>ux_devices_mac</c>); otherwise null.
    /// </summary>
    public static string? UniqueViolation(DbUpdateException exception) => UniqueViolationOf(exception.InnerException);

    /// <summary>
    /// The same for a bulk statement (<c>ExecuteUpdate</c>, <c>ExecuteDelete</c>),
    /// which throws the provider's exception itself rather than a <see cref="DbUpdateException"/>.
    /// </summary>
    public static string? UniqueViolationOf(Exception? exception)
    {
        switch (exception is DbUpdateException update ? update.InnerException : exception)
        {
            case PostgresException pg when pg.SqlState == PostgresErrorCodes.UniqueViolation:
                return pg.ConstraintName ?? "";
            case SqliteException sqlite when sqlite.SqliteErrorCode == SqliteConstraint && sqlite.SqliteExtendedErrorCode != SqliteConstraintForeignKey:
                // "UNIQUE constraint failed: index 'ux_devices_name'" or "...: devices.mac"
                var message = sqlite.Message;
                var at = message.IndexOf("failed: ", StringComparison.Ordinal);
                var what = at < 0 ? "" : message[(at + "failed: ".Length)..].Replace("index ", "", StringComparison.Ordinal).Trim('\'', ' ', '.');
                return s_sqliteColumnsToIndex.GetValueOrDefault(what, what);
            default:
                return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps) says the
    /// PostgreSQL server could not be reached or went away: a refused or
    /// timed-out connection, a broken one, a server shutting down or not
    /// accepting connections yet. Not a statement's own error.
    /// </summary>
    public static bool IsUnreachable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState is "57P01" or "57P02" or "57P03";
                case NpgsqlException npgsql when npgsql.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException or EndOfStreamException:
                    return true;
                case NpgsqlException npgsql when npgsql.IsTransient:
                    return true;
                case System.Net.Sockets.SocketException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is the database failing (a
    /// provider error, a failed save, an unreachable server), as opposed to
    /// a bug: what background work catches, logs and retries at its next tick.
    /// </summary>
    public static bool IsDatabaseFailure(Exception exception) =>
        exception is System.Data.Common.DbException or DbUpdateException || IsUnreachable(exception);

    public static bool IsForeignKeyViolation(DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException pg => pg.SqlState == PostgresErrorCodes.ForeignKeyViolation,
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode == SqliteConstraintForeignKey,
        _ => false,
    };
}
