namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>How a command touches the medium, for reservation conflicts.</summary>
internal enum AccessKind
{
    Always,
    Read,
    Write,
}
