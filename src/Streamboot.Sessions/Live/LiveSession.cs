using Streamboot.Sessions.Views;
using Streamboot.Storage.Stacks;

namespace Streamboot.Sessions.Live;

/// <summary>
/// A device's session on this server: one stack shared by all the
/// connections of its boot (NBD multi-conn, HTTP and NBD of one SAN boot,
/// a reconnect while the old connection lingers), so they see one another's
/// writes.
/// </summary>
internal sealed class LiveSession(long deviceId, long bootId, int version, long versionId, ViewFacts facts, ComposedStack stack)
{
    public long DeviceId { get; } = deviceId;

    public long BootId { get; } = bootId;

    /// <summary>When its boot's script was issued: where the boot's duration starts.</summary>
    public required DateTime BootIssuedAt { get; init; }

    public int Version { get; } = version;

    /// <summary>The version's database id: gone from the database means the version was deleted.</summary>
    public long VersionId { get; } = versionId;

    public ViewFacts Facts { get; } = facts;

    public ComposedStack Stack { get; } = stack;

    public CountingBlockDevice Counter { get; } = new(stack.Device);

    /// <summary>Its device's MAC, as the database spells it.</summary>
    public required string Mac { get; init; }

    /// <summary>Its boot's key: another connection presenting it joins (<see cref="LiveSessions.TryJoinAsync"/>).</summary>
    public required string BootKey { get; init; }

    /// <summary>Where its first connection came from.</summary>
    public string? Remote { get; init; }

    public int Connections { get; set; }

    /// <summary>Its boot's OS has connected its root, and that is recorded (<see cref="LiveSessions.NoteRootAsync"/>).</summary>
    public bool RootConnected { get; set; }

    /// <summary>The traffic last written to its row (by the periodic report).</summary>
    public SessionTraffic? Reported { get; set; }

    /// <summary>Ended by a new boot of its device (or a shutdown) while connections of it lingered.</summary>
    public bool Evicted { get; set; }
}
