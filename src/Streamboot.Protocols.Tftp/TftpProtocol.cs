using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Protocols.Tftp;

/// <summary>Wire constants and the small packet writers every part shares.</summary>
internal static class TftpProtocol
{
    /// <summary>RFC 1350: a DATA packet carries 512 bytes unless blksize says otherwise.</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>RFC 2348: blksize is 8 to 65464 (65464 + 4 header + 28 IP/UDP = 65496, the largest IP datagram without options).</summary>
    public const int MinBlockSize = 8;

    public const int MaxBlockSize = 65464;

    /// <summary>RFC 2349: timeout is 1 to 255 seconds.</summary>
    public const int MinTimeoutSeconds = 1;

    public const int MaxTimeoutSeconds = 255;

    /// <summary>RFC 7440: windowsize is 1 to 65535 blocks.</summary>
    public const int MaxWindowSize = 65535;

    public const int HeaderSize = 4;

    /// <summary>The largest UDP payload; the request socket reads whole datagrams of any size.</summary>
    public const int MaxDatagramSize = 65536;

    public const string BlockSizeOption = "blksize";
    public const string TransferSizeOption = "tsize";
    public const string TimeoutOption = "timeout";
    public const string WindowSizeOption = "windowsize";

    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void WriteDataHeader(Span<byte> packet, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], block);
    }

    /// <summary>Writes ERROR code message NUL (RFC 1350 figure 5-4) and returns its length; the message is cut to fit.</summary>
    public static int WriteError(Span<byte> packet, TftpErrorCode code, string message)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)TftpOpcode.Error);
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)code);
        var room = Math.Min(packet.Length - 5, 255);
        var length = 0;
        foreach (var c in message)
        {
            if (length == room)
            {
                break;
            }

            // netascii: printable ASCII only.
            packet[4 + length++] = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
        }

        packet[4 + length] = 0;
        return 5 + length;
    }

    /// <summary>Writes OACK with name NUL value NUL pairs (RFC 2347) and returns its length.</summary>
    public static int WriteOptionAcknowledgment(Span<byte> packet, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)TftpOpcode.OptionAcknowledgment);
        var length = 2;
        foreach (var (name, value) in options)
        {
            length += Encoding.ASCII.GetBytes(name, packet[length..]);
            packet[length++] = 0;
            length += Encoding.ASCII.GetBytes(value, packet[length..]);
            packet[length++] = 0;
        }

        return length;
    }
}
