namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>Why a target was not opened; each maps to a Login status in IscsiErrors.</summary>
public enum IscsiOpenError
{
    NotFound,
    Refused,
    Unavailable,
}
