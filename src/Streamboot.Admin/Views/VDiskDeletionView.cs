namespace Streamboot.Admin.Views;

/// <summary>
/// What deleting a vDisk changed: the vDisk as it was, the devices it was
/// taken from, the collections that no longer give it to new devices, the
/// files removed, and files in its store that were not Streamboot's and stay.
/// </summary>
public sealed record VDiskDeletionView(
    VDiskView VDisk,
    IReadOnlyList<string> UnassignedDevices,
    IReadOnlyList<string> ClearedCollections,
    int RemovedFiles,
    bool KeptImages,
    IReadOnlyList<string> LeftFiles);
