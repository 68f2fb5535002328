using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

/// <summary><c>vdisk replicas NAME</c>: each version's content hash and each server's copy of it.</summary>
public sealed record VDiskReplicasView(string VDisk, StoreKind Store, IReadOnlyList<VersionReplicasView> Versions);

/// <summary>
/// One version: its hash (null until its file is frozen and hashed) and,
/// for a frozen version in a replicated store, every registered server's
/// copy (<see cref="ReplicaState.Missing"/> for a server that has reported none).
/// </summary>
public sealed record VersionReplicasView(int Number, VersionStage Stage, string? ContentHash, long? ContentLength, bool Frozen, IReadOnlyList<ReplicaView> Replicas);

public sealed record ReplicaView(string Server, ReplicaState State, string? HashSeen, DateTime? CheckedAt, string? Message);
