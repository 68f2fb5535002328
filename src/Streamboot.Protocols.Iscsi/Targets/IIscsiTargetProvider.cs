namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>
/// What the server layer answers for the iSCSI target (after pixiecore's
/// <c>Booter</c>): which targets a discovery session lists, what a target
/// name needs at login, whose secret proves a CHAP response, and the block
/// device behind a name. The protocol never decides any of it.
/// </summary>
public interface IIscsiTargetProvider
{
    /// <summary>Targets a discovery session's SendTargets=All lists (those anyone may log in to).</summary>
    ValueTask<IReadOnlyList<string>> ListTargetsAsync(IscsiConnectionInfo connection, CancellationToken cancellationToken);

    /// <summary>Whether the name is a target, and how an initiator proves it may log in to it.</summary>
    ValueTask<IscsiTargetLookup> FindAsync(string targetName, IscsiConnectionInfo connection, CancellationToken cancellationToken);

    /// <summary>
    /// A CHAP response to check: the target's candidate secrets are tried
    /// with <see cref="IscsiChapProof.Proves"/>, every one of them (no early
    /// exit), and the one that proves it is granted. Null when none does.
    /// </summary>
    ValueTask<IscsiGrant?> ProveAsync(string targetName, IscsiChapProof proof, IscsiConnectionInfo connection, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the target for a new session (its leading login is complete):
    /// the block device to serve, or why not. <paramref name="grant"/> is
    /// what <see cref="ProveAsync"/> granted (null for a target that needs
    /// no authentication). Disposing the target's device ends the hold.
    /// </summary>
    ValueTask<IscsiOpenResult> OpenAsync(string targetName, IscsiGrant? grant, IscsiConnectionInfo connection, CancellationToken cancellationToken);
}
