using Streamboot.Storage.Stacks;

namespace Streamboot.Sessions.Live;

/// <summary>
/// One connection's read-only view of a vDisk version (<c>VDISK</c>): no
/// row in the sessions table, but this server keeps it in mind, so that it
/// can end it when the version is deleted under it.
/// </summary>
internal sealed class SharedViewHold(string vdisk, int version, long versionId, ComposedStack stack)
{
    public string VDisk { get; } = vdisk;

    public int Version { get; } = version;

    public long VersionId { get; } = versionId;

    public ComposedStack Stack { get; } = stack;

    public CountingBlockDevice Counter { get; } = new(stack.Device);
}
