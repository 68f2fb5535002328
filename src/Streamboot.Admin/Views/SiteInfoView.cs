using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

/// <summary>
/// <c>site info</c>: where the site lives and how its vDisks are stored.
/// <see cref="FrozenVersions"/> counts the versions whose files no longer
/// change; <see cref="UnhashedVersions"/> those of them without a content
/// hash (a replicated store cannot copy them).
/// </summary>
public sealed record SiteInfoView(
    StoreKind Store,
    string Database,
    string DataFolder,
    long SchemaVersion,
    int VDisks,
    int FrozenVersions,
    int UnhashedVersions,
    DateTime? StoreChangedAt);
