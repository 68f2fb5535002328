namespace Streamboot.Data.Model;

/// <summary>The site's own settings: one row (id 1), made by migration 11.</summary>
public sealed class SiteSettings
{
    /// <summary>The id of the one row.</summary>
    public const int RowId = 1;

    public int Id { get; set; }

    public StoreKind Store { get; set; }

    /// <summary>
    /// What servers of the farm prove to each other when one copies a version
    /// from another (64 hex digits, made by the first server that needs it).
    /// Anyone who reads the database could read the vDisks anyway.
    /// </summary>
    public string? FarmSecret { get; set; }

    public DateTime? ChangedAt { get; set; }
}
