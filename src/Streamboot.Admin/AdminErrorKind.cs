namespace Streamboot.Admin;

/// <summary>Why an admin operation was not done; the command line maps these to exit codes.</summary>
public enum AdminErrorKind
{
    /// <summary>The request itself is malformed (a bad MAC, size or name): a usage error.</summary>
    Invalid,

    /// <summary>Something the request names does not exist.</summary>
    NotFound,

    /// <summary>It would duplicate something unique (a name, a MAC).</summary>
    Conflict,

    /// <summary>The site's state forbids it now (assigned, in use, not empty).</summary>
    Refused,

    /// <summary>The operation failed on the way (disk full, database gone).</summary>
    Failed,

    /// <summary>The server runs as many of these as it may at once: try again later.</summary>
    Busy,
}
