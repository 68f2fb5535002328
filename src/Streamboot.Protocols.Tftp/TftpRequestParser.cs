using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Protocols.Tftp;

/// <summary>
/// Reads RRQ/WRQ datagrams: opcode, file name NUL, mode NUL, then option
/// name NUL value NUL pairs (RFC 2347). A pure function over the bytes; the
/// datagram's length bounds all work.
/// </summary>
public static class TftpRequestParser
{
    /// <summary>Options beyond this many are ignored; RFC 2347 requests fit in 512 bytes anyway.</summary>
    public const int MaxOptions = 32;

    public static TftpRequestRejection TryParse(ReadOnlySpan<byte> datagram, out TftpRequest? request)
    {
        request = null;
        if (datagram.Length < 2)
        {
            return TftpRequestRejection.Truncated;
        }

        var opcode = (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(datagram);
        switch (opcode)
        {
            case TftpOpcode.ReadRequest or TftpOpcode.WriteRequest:
                break;
            case TftpOpcode.Data or TftpOpcode.Acknowledgment or TftpOpcode.OptionAcknowledgment:
                return TftpRequestRejection.NoTransfer;
            case TftpOpcode.Error:
                return TftpRequestRejection.ErrorPacket;
            default:
                return TftpRequestRejection.UnknownOpcode;
        }

        var rest = datagram[2..];
        if (!TryTakeString(ref rest, out var nameBytes) || !TryTakeString(ref rest, out var modeBytes))
        {
            return TftpRequestRejection.MissingTerminator;
        }

        TftpMode mode;
        if (Ascii.EqualsIgnoreCase(modeBytes, "octet"u8))
        {
            mode = TftpMode.Octet;
        }
        else if (Ascii.EqualsIgnoreCase(modeBytes, "netascii"u8))
        {
            mode = TftpMode.NetAscii;
        }
        else
        {
            return TftpRequestRejection.UnknownMode;
        }

        string fileName;
        try
        {
            fileName = TftpProtocol.StrictUtf8.GetString(nameBytes);
        }
        catch (DecoderFallbackException)
        {
            return TftpRequestRejection.InvalidFileName;
        }

        // Options: some PXE ROMs pad requests with NULs, and a last pair cut
        // short is the client's loss, not a reason to refuse the file.
        var options = new List<KeyValuePair<string, string>>();
        while (options.Count < MaxOptions && TryTakeString(ref rest, out var name) && !name.IsEmpty && TryTakeString(ref rest, out var value))
        {
            if (Ascii.IsValid(name) && Ascii.IsValid(value))
            {
                options.Add(new(Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
            }
        }

        request = new TftpRequest(opcode, fileName, mode, options);
        return TftpRequestRejection.None;
    }

    private static bool TryTakeString(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> value)
    {
        var end = rest.IndexOf((byte)0);
        if (end < 0)
        {
            value = default;
            return false;
        }

        value = rest[..end];
        rest = rest[(end + 1)..];
        return true;
    }
}
