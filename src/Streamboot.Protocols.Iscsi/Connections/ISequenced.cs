namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>A PDU delivered in CmdSN order (RFC 7143 4.2.2.1): commands, and the non-immediate NOP-Out, Text, Logout and task management requests.</summary>
internal interface ISequenced
{
    void Deliver();
}
