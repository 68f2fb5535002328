namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>
/// What a proven CHAP response grants: <see cref="Identity"/>, which the
/// provider uses to open the target (and which must be the same for every
/// connection of one session), and the secret this target answers mutual
/// CHAP with. Neither is ever logged.
/// </summary>
public sealed record IscsiGrant(string Identity, string? TargetSecret)
{
    /// <summary>The grant without its secrets, for logs.</summary>
    public override string ToString() => "IscsiGrant";
}
