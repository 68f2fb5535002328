namespace Streamboot.Protocols.Tftp;

/// <summary>
/// An RRQ or WRQ as it came off the wire (RFC 1350 figure 5-1, options per
/// RFC 2347 in the order the client sent them; names keep the client's case).
/// </summary>
public sealed record TftpRequest(TftpOpcode Opcode, string FileName, TftpMode Mode, IReadOnlyList<KeyValuePair<string, string>> Options);
