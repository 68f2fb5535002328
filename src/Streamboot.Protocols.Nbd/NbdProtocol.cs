namespace Streamboot.Protocols.Nbd;

// Every number that goes on the wire, in one file like nbdkit's
// common/protocol/nbd-protocol.h. Names follow doc/proto.md of the NBD
// project with the NBD_xxx_ prefix dropped and PascalCase (NBD_OPT_GO is
// NbdOption.Go). Deliberately several types in one file: a reader checking a
// number against the specification finds them all here.

/// <summary>Magic numbers and fixed sizes of the fixed-newstyle protocol.</summary>
public static class NbdProtocol
{
    /// <summary>"NBDMAGIC": first eight bytes the server sends.</summary>
    public const ulong InitPasswd = 0x4e42444d41474943;

    /// <summary>"IHAVEOPT": newstyle magic, and the prefix of every option request.</summary>
    public const ulong IHaveOpt = 0x49484156454F5054;

    /// <summary>Prefix of every option reply.</summary>
    public const ulong OptionReplyMagic = 0x0003e889045565a9;

    /// <summary>NBD_REQUEST_MAGIC (compact request header).</summary>
    public const uint RequestMagic = 0x25609513;

    /// <summary>NBD_SIMPLE_REPLY_MAGIC.</summary>
    public const uint SimpleReplyMagic = 0x67446698;

    /// <summary>NBD_STRUCTURED_REPLY_MAGIC.</summary>
    public const uint StructuredReplyMagic = 0x668e33ef;

    /// <summary>Compact request header: magic, flags, type, cookie, offset, length.</summary>
    public const int RequestHeaderSize = 28;

    /// <summary>Simple reply header: magic, error, cookie.</summary>
    public const int SimpleReplyHeaderSize = 16;

    /// <summary>Structured reply chunk header: magic, flags, type, cookie, length.</summary>
    public const int StructuredReplyHeaderSize = 20;

    /// <summary>Option request header: IHAVEOPT, option, length.</summary>
    public const int OptionHeaderSize = 16;

    /// <summary>Option reply header: magic, option, reply type, length.</summary>
    public const int OptionReplyHeaderSize = 20;

    /// <summary>The longest header in front of READ data: a structured OFFSET_DATA chunk (header and offset).</summary>
    public const int MaxReplyHeaderSize = StructuredReplyHeaderSize + 8;

    /// <summary>Zero padding after the NBD_OPT_EXPORT_NAME reply unless NO_ZEROES was agreed.</summary>
    public const int ExportNameZeroPadding = 124;

    /// <summary>Longest export name or description (the spec lets servers refuse longer strings).</summary>
    public const int MaxStringLength = 4096;

    /// <summary>The only metadata context this server knows.</summary>
    public const string BaseAllocation = "base:allocation";

    /// <summary>Context id of <see cref="BaseAllocation"/> in NBD_REP_META_CONTEXT and block status chunks.</summary>
    public const uint BaseAllocationContextId = 1;
}

/// <summary>Handshake flags the server sends after IHAVEOPT (16 bits).</summary>
[Flags]
public enum NbdHandshakeFlags : ushort
{
    None = 0,
    FixedNewstyle = 1 << 0,
    NoZeroes = 1 << 1,
}

/// <summary>Client flags (32 bits) answering the handshake flags: NBD_FLAG_C_xxx.</summary>
[Flags]
public enum NbdClientFlags : uint
{
    None = 0,
    FixedNewstyle = 1 << 0,
    NoZeroes = 1 << 1,
}

/// <summary>Transmission flags (16 bits), sent with the export size.</summary>
[Flags]
public enum NbdTransmissionFlags : ushort
{
    None = 0,
    HasFlags = 1 << 0,
    ReadOnly = 1 << 1,
    SendFlush = 1 << 2,
    SendFua = 1 << 3,
    Rotational = 1 << 4,
    SendTrim = 1 << 5,
    SendWriteZeroes = 1 << 6,
    SendDf = 1 << 7,
    CanMultiConn = 1 << 8,
    SendResize = 1 << 9,
    SendCache = 1 << 10,
    SendFastZero = 1 << 11,
    BlockStatusPayload = 1 << 12,
}

/// <summary>Option types: NBD_OPT_xxx.</summary>
public enum NbdOption : uint
{
    ExportName = 1,
    Abort = 2,
    List = 3,
    PeekExport = 4,
    StartTls = 5,
    Info = 6,
    Go = 7,
    StructuredReply = 8,
    ListMetaContext = 9,
    SetMetaContext = 10,
    ExtendedHeaders = 11,
}

/// <summary>Option reply types: NBD_REP_xxx; errors have bit 31 set.</summary>
public enum NbdOptionReply : uint
{
    Ack = 1,
    Server = 2,
    Info = 3,
    MetaContext = 4,
    ErrUnsup = (1u << 31) + 1,
    ErrPolicy = (1u << 31) + 2,
    ErrInvalid = (1u << 31) + 3,
    ErrPlatform = (1u << 31) + 4,
    ErrTlsReqd = (1u << 31) + 5,
    ErrUnknown = (1u << 31) + 6,
    ErrShutdown = (1u << 31) + 7,
    ErrBlockSizeReqd = (1u << 31) + 8,
    ErrTooBig = (1u << 31) + 9,
    ErrExtHeaderReqd = (1u << 31) + 10,
}

/// <summary>Information types of NBD_REP_INFO: NBD_INFO_xxx.</summary>
public enum NbdInfo : ushort
{
    Export = 0,
    Name = 1,
    Description = 2,
    BlockSize = 3,
}

/// <summary>Request types: NBD_CMD_xxx.</summary>
public enum NbdCommand : ushort
{
    Read = 0,
    Write = 1,
    Disc = 2,
    Flush = 3,
    Trim = 4,
    Cache = 5,
    WriteZeroes = 6,
    BlockStatus = 7,
    Resize = 8,
}

/// <summary>Request flags: NBD_CMD_FLAG_xxx.</summary>
[Flags]
public enum NbdCommandFlags : ushort
{
    None = 0,
    Fua = 1 << 0,
    NoHole = 1 << 1,
    Df = 1 << 2,
    ReqOne = 1 << 3,
    FastZero = 1 << 4,
    PayloadLen = 1 << 5,
}

/// <summary>Structured reply chunk flags: NBD_REPLY_FLAG_xxx.</summary>
[Flags]
public enum NbdReplyFlags : ushort
{
    None = 0,
    Done = 1 << 0,
}

/// <summary>Structured reply chunk types: NBD_REPLY_TYPE_xxx.</summary>
public enum NbdReplyType : ushort
{
    None = 0,
    OffsetData = 1,
    OffsetHole = 2,
    BlockStatus = 5,
    Error = (1 << 15) + 1,
    ErrorOffset = (1 << 15) + 2,
}

/// <summary>Error values of replies (the Linux errno numbers the spec fixes).</summary>
public enum NbdError : uint
{
    None = 0,
    Perm = 1,
    Io = 5,
    NoMem = 12,
    Inval = 22,
    NoSpc = 28,
    Overflow = 75,
    NotSup = 95,
    Shutdown = 108,
}

/// <summary>Status flags of the "base:allocation" context: NBD_STATE_xxx.</summary>
[Flags]
public enum NbdAllocationState : uint
{
    Data = 0,
    Hole = 1 << 0,
    Zero = 1 << 1,
}
