namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>A target name looked up at login: unknown, open to anyone (AuthMethod=None), or behind CHAP.</summary>
public enum IscsiTargetLookup
{
    NotFound,
    Anonymous,
    ChapRequired,

    /// <summary>The name is a target, but nobody may log in to it now (policy).</summary>
    Refused,
}
