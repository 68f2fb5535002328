using Streamboot.Data.Model;

namespace Streamboot.Sessions.Views;

/// <summary>
/// What a view shows: which vDisk version, for which device (none for the
/// shared read-only view), whether it can be written and where writes go.
/// <see cref="SessionId"/> is the row in the sessions table (0 for the
/// shared view, which keeps none). <see cref="VersionId"/> is the version's
/// database id (0 when nothing is open): never reused, so two views with the
/// same id show the same bytes, whatever name and number a re-import reuses.
/// </summary>
public sealed record ViewFacts(
    string Name,
    string VDisk,
    string? Description,
    int Version,
    long Size,
    bool ReadOnly,
    string? Device,
    WriteCacheMode? WriteCacheMode,
    long SessionId,
    long VersionId = 0);
