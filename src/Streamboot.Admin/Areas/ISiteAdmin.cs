namespace Streamboot.Admin.Areas;

/// <summary>
/// The site as a front end drives it, one interface per area. Two
/// implementations, one set of verbs: the Admin layer's own classes over the
/// site database (the command line on a server, and what the admin API
/// calls), and a remote server's admin API (<c>Streamboot.Remote</c>, the
/// command line's <c>--server URL</c>), which answers with the same values
/// and the same errors, so a verb prints the same either way.
/// </summary>
public interface ISiteAdmin : IAsyncDisposable
{
    /// <summary>Whether the files a verb names (an image to import, an ISO) are this machine's, or the server's.</summary>
    bool FilesAreHere { get; }

    IDeviceAdmin Devices { get; }

    IAssignmentAdmin Assignments { get; }

    ICollectionAdmin Collections { get; }

    IVDiskAdmin VDisks { get; }

    IVersionAdmin Versions { get; }

    IStoreAdmin Store { get; }

    IServerAdmin Servers { get; }

    ISiteQueries Queries { get; }

    IBootAdmin Boots { get; }

    ITokenAdmin Tokens { get; }

    IVmAdmin Vms { get; }
}
