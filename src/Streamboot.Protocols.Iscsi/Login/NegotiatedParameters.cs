namespace Streamboot.Protocols.Iscsi.Login;

/// <summary>
/// The operational parameters a login settled (RFC 7143 section 13), with
/// the RFC's defaults until a key changes them. Session-wide values come
/// from the leading connection's login; the digests and both sides'
/// MaxRecvDataSegmentLength belong to each connection.
/// </summary>
internal sealed class NegotiatedParameters
{
    public bool HeaderDigest { get; set; }

    public bool DataDigest { get; set; }

    /// <summary>The largest data segment this target may send (the initiator's MaxRecvDataSegmentLength, 13.12).</summary>
    public int InitiatorMaxRecvDataSegmentLength { get; set; } = 8192;

    /// <summary>The largest data segment the initiator may send us (our declaration).</summary>
    public int TargetMaxRecvDataSegmentLength { get; set; } = 8192;

    public int MaxBurstLength { get; set; } = 262144;

    public int FirstBurstLength { get; set; } = 65536;

    public bool InitialR2T { get; set; } = true;

    public bool ImmediateData { get; set; } = true;

    public int MaxOutstandingR2T { get; set; } = 1;

    public int MaxConnections { get; set; } = 1;

    public int DefaultTime2Wait { get; set; } = 2;

    public int DefaultTime2Retain { get; set; } = 20;

    public int ErrorRecoveryLevel { get; set; }

    public bool DataPduInOrder { get; set; } = true;

    public bool DataSequenceInOrder { get; set; } = true;

    public NegotiatedParameters Clone() => (NegotiatedParameters)MemberwiseClone();
}
