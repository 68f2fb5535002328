using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>What the handshake agreed and transmission works with: the open export and the options in force.</summary>
internal sealed class NbdSession(NbdExport export, NbdTransmissionFlags flags)
{
    public NbdExport Export { get; } = export;

    public IBlockDevice Device => Export.Device;

    public NbdTransmissionFlags Flags { get; } = flags;

    public bool ReadOnly => (Flags & NbdTransmissionFlags.ReadOnly) != 0;

    /// <summary>NBD_OPT_STRUCTURED_REPLY was agreed.</summary>
    public bool StructuredReplies { get; init; }

    /// <summary>"base:allocation" was selected for this export (NBD_OPT_SET_META_CONTEXT).</summary>
    public bool BaseAllocation { get; init; }

    /// <summary>Alignment enforced on requests: the export's minimum block size if the client asked for block sizes, else 1.</summary>
    public int MinimumBlockSize { get; init; } = 1;
}
