namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// The I_T nexus a command came through (SAM-5 4.6.5): the iSCSI initiator
/// port (InitiatorName + ",i,0x" + ISID, RFC 7143 10.1.1) of one session.
/// Reservations are held per nexus.
/// </summary>
internal sealed record ScsiNexus(string InitiatorName, string Isid)
{
    public string InitiatorPort => $"{InitiatorName},i,0x{Isid}";
}
