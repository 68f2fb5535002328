using Microsoft.EntityFrameworkCore;
using Streamboot.Data;

namespace Streamboot.Admin;

/// <summary>
/// Saving a change where the database has the last word: a check made before
/// the save can race with another admin or server, the unique index cannot.
/// </summary>
internal static class Persist
{
    /// <summary>Saves; a unique-index violation becomes the conflict <paramref name="describe"/> names.</summary>
    public static async Task<AdminError?> SaveAsync(StreambootDbContext db, Func<string, string> describe, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return null;
        }
        catch (DbUpdateException e) when (DbErrors.UniqueViolation(e) is { } index)
        {
            return AdminError.Conflict(describe(index));
        }
        catch (DbUpdateException e) when (DbErrors.IsForeignKeyViolation(e))
        {
            return AdminError.Refused("the change refers to something another admin just deleted; list again and retry");
        }
    }

    public static bool Mentions(this string index, string column) => index.Contains(column, StringComparison.OrdinalIgnoreCase);
}
