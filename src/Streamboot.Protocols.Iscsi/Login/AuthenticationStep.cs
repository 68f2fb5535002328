namespace Streamboot.Protocols.Iscsi.Login;

/// <summary>Where a connection's security negotiation stands (RFC 7143 6.3.2, 12.1.3).</summary>
internal enum AuthenticationStep
{
    /// <summary>No AuthMethod settled yet.</summary>
    NotStarted,

    /// <summary>AuthMethod=CHAP agreed; waiting for CHAP_A.</summary>
    ChapChosen,

    /// <summary>CHAP_I and CHAP_C sent; waiting for CHAP_N and CHAP_R.</summary>
    ChallengeSent,

    /// <summary>AuthMethod=None agreed, or the CHAP response proved.</summary>
    Done,
}
