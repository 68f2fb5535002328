namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>How a command's data-out is taken: not at all, whole (a parameter list, compared data), or streamed to the device burst by burst (WRITE).</summary>
internal enum DataOutMode
{
    None,
    Whole,
    Stream,
}
