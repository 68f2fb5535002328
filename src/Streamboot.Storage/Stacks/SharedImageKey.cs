namespace Streamboot.Storage.Stacks;

/// <summary>
/// What a shared image is cached under: the caller's id for the image (a
/// vDisk version's database id, never reused) and the identity of its top
/// file when it was opened. Never a name or a version number, which a
/// delete and a re-import reuse.
/// </summary>
public readonly record struct SharedImageKey(long Id, FileIdentity File);
