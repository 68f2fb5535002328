using Streamboot.Protocols.Iscsi.Targets;

namespace Streamboot.Protocols.Iscsi.Login;

/// <summary>
/// A connection's login in progress: the identifiers its first PDU fixed
/// (ISID, TSIH, CID, ITT, CmdSN), the names and session type, the stage,
/// the CHAP exchange, the keys being accumulated over continued PDUs and
/// the parameters negotiated so far.
/// </summary>
internal sealed class LoginState
{
    public bool Started { get; set; }

    public LoginStage Stage { get; set; } = LoginStage.SecurityNegotiation;

    public string Isid { get; set; } = "";

    public byte[] IsidBytes { get; set; } = new byte[6];

    public ushort Tsih { get; set; }

    public ushort Cid { get; set; }

    public uint Itt { get; set; }

    public uint CmdSN { get; set; }

    public string? InitiatorName { get; set; }

    public string? TargetName { get; set; }

    public bool Discovery { get; set; }

    public IscsiTargetLookup Lookup { get; set; }

    public AuthenticationStep Authentication { get; set; }

    public byte ChapIdentifier { get; set; }

    public byte[] ChapChallenge { get; set; } = [];

    public IscsiGrant? Grant { get; set; }

    /// <summary>Key bytes of a request continued over several PDUs (C bit), bounded by MaxTextLength.</summary>
    public List<byte> Pending { get; } = [];

    public bool SentPortalGroupTag { get; set; }

    public bool DeclaredMaxRecvDataSegmentLength { get; set; }

    public NegotiatedParameters Parameters { get; set; } = new();
}
