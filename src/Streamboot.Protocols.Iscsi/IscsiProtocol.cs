namespace Streamboot.Protocols.Iscsi;

/// <summary>
/// Every iSCSI wire constant in one place (RFC 7143): opcodes, header
/// offsets and flags, login stages and status, reject reasons, task
/// management functions and responses, asynchronous events, text keys.
/// Section numbers below are RFC 7143's.
/// </summary>
internal static class IscsiProtocol
{
    /// <summary>The Basic Header Segment every PDU starts with (11.2.1).</summary>
    public const int BhsLength = 48;

    public const int DigestLength = 4;

    /// <summary>The largest DataSegmentLength the 24-bit field can carry.</summary>
    public const int MaxDataSegmentLength = (1 << 24) - 1;

    /// <summary>A tag that names no task (11.2.1.8, 11.18.3).</summary>
    public const uint ReservedTag = 0xffffffff;

    public const byte VersionMax = 0x00;
    public const byte VersionMin = 0x00;

    /// <summary>The portal group every portal of this server belongs to (12.9, TargetPortalGroupTag).</summary>
    public const ushort PortalGroupTag = 1;

    // --- BHS byte offsets (11.2.1) ---
    public const int OpcodeOffset = 0;
    public const int FlagsOffset = 1;
    public const int TotalAhsLengthOffset = 4;
    public const int DataSegmentLengthOffset = 5;
    public const int LunOffset = 8;
    public const int InitiatorTaskTagOffset = 16;

    /// <summary>The I bit of byte 0: an immediate command, delivered at once and not counted in CmdSN order.</summary>
    public const byte ImmediateBit = 0x40;

    public const byte OpcodeMask = 0x3f;

    /// <summary>The F (final) bit of byte 1 in most PDUs.</summary>
    public const byte FinalBit = 0x80;
}

/// <summary>PDU opcodes (11.2.1.2).</summary>
internal enum IscsiOpcode : byte
{
    NopOut = 0x00,
    ScsiCommand = 0x01,
    TaskManagementRequest = 0x02,
    LoginRequest = 0x03,
    TextRequest = 0x04,
    DataOut = 0x05,
    LogoutRequest = 0x06,
    SnackRequest = 0x10,

    NopIn = 0x20,
    ScsiResponse = 0x21,
    TaskManagementResponse = 0x22,
    LoginResponse = 0x23,
    TextResponse = 0x24,
    DataIn = 0x25,
    LogoutResponse = 0x26,
    ReadyToTransfer = 0x31,
    AsyncMessage = 0x32,
    Reject = 0x3f,
}

/// <summary>Byte 1 flags of a SCSI Command PDU (11.3.1).</summary>
[Flags]
internal enum ScsiCommandFlags : byte
{
    None = 0,
    Final = 0x80,
    Read = 0x40,
    Write = 0x20,
    AttributeMask = 0x07,
}

/// <summary>Byte 1 flags of SCSI Response and Data-In PDUs (11.4.5, 11.7.5).</summary>
[Flags]
internal enum ResponseFlags : byte
{
    None = 0,
    Final = 0x80,

    /// <summary>Data-In: the initiator must acknowledge (unused at ErrorRecoveryLevel 0).</summary>
    Acknowledge = 0x40,
    BidiOverflow = 0x10,
    BidiUnderflow = 0x08,
    Overflow = 0x04,
    Underflow = 0x02,

    /// <summary>Data-In: the PDU carries the command's status (phase collapse, 11.7.4).</summary>
    Status = 0x01,
}

/// <summary>Login stages, CSG and NSG of Login PDUs (11.12.3).</summary>
internal enum LoginStage : byte
{
    SecurityNegotiation = 0,
    OperationalNegotiation = 1,
    FullFeature = 3,
}

/// <summary>Login Response Status-Class and Status-Detail, as one 16-bit value (11.13.5).</summary>
internal enum LoginStatus : ushort
{
    Success = 0x0000,
    TargetMovedTemporarily = 0x0101,
    InitiatorError = 0x0200,
    AuthenticationFailure = 0x0201,
    AuthorizationFailure = 0x0202,
    NotFound = 0x0203,
    TargetRemoved = 0x0204,
    UnsupportedVersion = 0x0205,
    TooManyConnections = 0x0206,
    MissingParameter = 0x0207,
    CannotIncludeInSession = 0x0208,
    SessionTypeNotSupported = 0x0209,
    SessionDoesNotExist = 0x020a,
    InvalidDuringLogin = 0x020b,
    TargetError = 0x0300,
    ServiceUnavailable = 0x0301,
    OutOfResources = 0x0302,
}

/// <summary>Reject reasons (11.17.1).</summary>
internal enum RejectReason : byte
{
    DataDigestError = 0x02,
    SnackReject = 0x03,
    ProtocolError = 0x04,
    CommandNotSupported = 0x05,
    ImmediateCommandReject = 0x06,
    TaskInProgress = 0x07,
    InvalidDataAck = 0x08,
    InvalidPduField = 0x09,
    LongOperationReject = 0x0a,
    WaitingForLogout = 0x0c,
}

/// <summary>Task management functions (11.5.1).</summary>
internal enum TaskManagementFunction : byte
{
    AbortTask = 1,
    AbortTaskSet = 2,
    ClearAca = 3,
    ClearTaskSet = 4,
    LogicalUnitReset = 5,
    TargetWarmReset = 6,
    TargetColdReset = 7,
    TaskReassign = 8,
}

/// <summary>Task management responses (11.6.1).</summary>
internal enum TaskManagementResponse : byte
{
    FunctionComplete = 0,
    TaskDoesNotExist = 1,
    LunDoesNotExist = 2,
    TaskStillAllegiant = 3,
    TaskReassignmentNotSupported = 4,
    FunctionNotSupported = 5,
    AuthorizationFailed = 6,
    FunctionRejected = 255,
}

/// <summary>Logout reasons (11.14.1) and responses (11.15.1).</summary>
internal enum LogoutReason : byte
{
    CloseSession = 0,
    CloseConnection = 1,
    RemoveConnectionForRecovery = 2,
}

internal enum LogoutResponse : byte
{
    Closed = 0,
    CidNotFound = 1,
    RecoveryNotSupported = 2,
    CleanupFailed = 3,
}

/// <summary>Asynchronous message events (11.9.1).</summary>
internal enum AsyncEvent : byte
{
    ScsiAsyncEvent = 0,
    LogoutRequested = 1,
    ConnectionDropping = 2,
    SessionDropping = 3,
    NegotiationRequested = 4,
}

/// <summary>Text keys of login and text negotiation (section 13) and CHAP (12.1.3).</summary>
internal static class IscsiKeys
{
    public const string SessionType = "SessionType";
    public const string InitiatorName = "InitiatorName";
    public const string InitiatorAlias = "InitiatorAlias";
    public const string TargetName = "TargetName";
    public const string TargetAlias = "TargetAlias";
    public const string TargetAddress = "TargetAddress";
    public const string TargetPortalGroupTag = "TargetPortalGroupTag";
    public const string AuthMethod = "AuthMethod";
    public const string HeaderDigest = "HeaderDigest";
    public const string DataDigest = "DataDigest";
    public const string MaxConnections = "MaxConnections";
    public const string SendTargets = "SendTargets";
    public const string InitialR2T = "InitialR2T";
    public const string ImmediateData = "ImmediateData";
    public const string MaxRecvDataSegmentLength = "MaxRecvDataSegmentLength";
    public const string MaxBurstLength = "MaxBurstLength";
    public const string FirstBurstLength = "FirstBurstLength";
    public const string DefaultTime2Wait = "DefaultTime2Wait";
    public const string DefaultTime2Retain = "DefaultTime2Retain";
    public const string MaxOutstandingR2T = "MaxOutstandingR2T";
    public const string DataPduInOrder = "DataPDUInOrder";
    public const string DataSequenceInOrder = "DataSequenceInOrder";
    public const string ErrorRecoveryLevel = "ErrorRecoveryLevel";
    public const string IfMarker = "IFMarker";
    public const string OfMarker = "OFMarker";
    public const string IfMarkInt = "IFMarkInt";
    public const string OfMarkInt = "OFMarkInt";
    public const string TaskReporting = "TaskReporting";
    public const string IscsiProtocolLevel = "iSCSIProtocolLevel";

    public const string ChapAlgorithm = "CHAP_A";
    public const string ChapIdentifier = "CHAP_I";
    public const string ChapChallenge = "CHAP_C";
    public const string ChapName = "CHAP_N";
    public const string ChapResponse = "CHAP_R";

    public const string NotUnderstood = "NotUnderstood";
    public const string Irrelevant = "Irrelevant";
    public const string Reject = "Reject";
    public const string None = "None";
    public const string Chap = "CHAP";
    public const string Crc32C = "CRC32C";
    public const string Yes = "Yes";
    public const string No = "No";
    public const string Discovery = "Discovery";
    public const string Normal = "Normal";

    /// <summary>CHAP with MD5 (RFC 1994; the value of CHAP_A, 12.1.3).</summary>
    public const string ChapMd5 = "5";
}
