using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Protocols.Nbd.Handshake;

/// <summary>Option data, parsed as pure functions of the bytes (doc/proto.md "Option types"); bad data is false, never an exception.</summary>
internal static class NbdOptionParser
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>NBD_OPT_INFO/GO data: u32 name length, name, u16 count, count x u16 info type.</summary>
    public static bool TryParseInfoRequest(ReadOnlySpan<byte> data, out string? name, out int requested)
    {
        name = null;
        requested = 0;
        if (data.Length < 6)
        {
            return false;
        }

        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (nameLength > (uint)data.Length - 6)
        {
            return false;
        }

        var rest = data[(4 + (int)nameLength)..];
        var count = BinaryPrimitives.ReadUInt16BigEndian(rest);
        if (rest.Length != 2 + (2 * count))
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            var info = BinaryPrimitives.ReadUInt16BigEndian(rest[(2 + (2 * i))..]);
            if (info < 16)
            {
                requested |= 1 << info;
            }
        }

        name = nameLength > NbdProtocol.MaxStringLength ? null : DecodeString(data.Slice(4, (int)nameLength));
        return true;
    }

    /// <summary>Meta context data: u32 name length, name, u32 query count, queries as u32 length + string.</summary>
    public static bool TryParseMetaContextRequest(ReadOnlySpan<byte> data, out string? name, out uint queries, out bool baseAllocation)
    {
        name = null;
        queries = 0;
        baseAllocation = false;
        if (data.Length < 8)
        {
            return false;
        }

        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (nameLength > (uint)data.Length - 8 || nameLength > NbdProtocol.MaxStringLength)
        {
            return false;
        }

        name = DecodeString(data.Slice(4, (int)nameLength));
        if (name is null)
        {
            return false;
        }

        var rest = data[(4 + (int)nameLength)..];
        queries = BinaryPrimitives.ReadUInt32BigEndian(rest);
        rest = rest[4..];
        for (var i = 0u; i < queries; i++)
        {
            if (rest.Length < 4)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(rest);
            if (length > (uint)rest.Length - 4)
            {
                return false;
            }

            var query = rest.Slice(4, (int)length);
            // "base:" asks for every context of the namespace (LIST only, but harmless for SET).
            if (query.SequenceEqual("base:allocation"u8) || query.SequenceEqual("base:"u8))
            {
                baseAllocation = true;
            }

            rest = rest[(4 + (int)length)..];
        }

        return rest.IsEmpty;
    }

    /// <summary>A string of the protocol: strict UTF-8 without NUL (doc/proto.md "Conventions"), or null.</summary>
    public static string? DecodeString(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Contains((byte)0))
        {
            return null;
        }

        try
        {
            return s_strictUtf8.GetString(bytes);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
