namespace Streamboot.Protocols.Iscsi;

/// <summary>The protocol's own bounds on settings, for those who check them before a server starts.</summary>
public static class IscsiProtocolLimits
{
    /// <summary>The largest data segment the 24-bit DataSegmentLength can carry (RFC 7143 11.2.1.5).</summary>
    public const int MaxDataSegmentLength = IscsiProtocol.MaxDataSegmentLength;
}
