namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>A CmdSN used up by a PDU that was rejected or aborted: its turn comes and nothing happens, so later commands need not wait for it.</summary>
internal sealed class NoOperation : ISequenced
{
    public void Deliver()
    {
    }
}
