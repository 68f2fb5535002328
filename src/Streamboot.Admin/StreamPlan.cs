using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>
/// What a protocol server streams for one export once the session is open:
/// which version's file is the top of the chain, whether clients may write,
/// and where their writes go.
/// </summary>
public sealed record StreamPlan(
    long SessionId,
    string VDisk,
    string? Description,
    int Version,
    string TopFile,
    long SizeBytes,
    WriteCacheMode WriteCacheMode,
    bool ReadOnly,
    string? Device,
    string? Mac,
    Guid? MachineId,
    bool PersistentWriteCache)
{
    /// <summary>
    /// The device had a session earlier in this boot (this one is a
    /// reconnect: a dropped link, a restarted server), so it runs the
    /// version pinned then.
    /// </summary>
    public bool ContinuesBoot { get; init; }
}
