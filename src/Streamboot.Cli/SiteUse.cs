namespace Streamboot.Cli;

/// <summary>What a verb needs of the site (the data folder and its database).</summary>
public enum SiteUse
{
    /// <summary>An existing site: a verb that reads or changes what is there refuses a folder or database that does not exist (a typo in --data or --db), instead of making an empty site.</summary>
    Existing,

    /// <summary>A verb that adds something (serve, vdisk create, device add...): makes the site when there is none, and says so.</summary>
    CreateIfMissing,

    /// <summary>A verb that needs only the settings (bootstrap).</summary>
    None,
}
