using System.Buffers;
using System.Text;
using Streamboot.Server.Boot;

namespace Streamboot.Server.Http;

/// <summary>
/// A request head <see cref="BootFileSender"/> may answer itself: exactly
/// <c>GET /boot/files/VDISK/FILE[?key=KEY] HTTP/1.1</c> with a Host and no
/// header that asks for more than the whole file (range, condition, body,
/// upgrade). Anything else, or anything it is unsure of, is not one: Kestrel
/// then parses the same bytes and answers as the endpoint does, errors
/// included. It never answers a request itself; it only says whether the
/// fast path may.
/// </summary>
internal readonly record struct BootFileRequest(string VDisk, string File, string? Key, int HeadLength, bool Close)
{
    private static ReadOnlySpan<byte> Method => "GET /boot/files/"u8;

    private static ReadOnlySpan<byte> Version => " HTTP/1.1"u8;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    public static bool TryParse(ReadOnlySequence<byte> buffer, int maxHead, int maxLines, out BootFileRequest request)
    {
        request = default;
        var length = (int)Math.Min(buffer.Length, maxHead);
        if (length < Method.Length)
        {
            return false;
        }

        if (buffer.FirstSpan.Length >= length)
        {
            return TryParse(buffer.FirstSpan[..length], maxLines, out request);
        }

        var rented = ArrayPool<byte>.Shared.Rent(length);
        buffer.Slice(0, length).CopyTo(rented);
        try
        {
            return TryParse(rented.AsSpan(0, length), maxLines, out request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> head, int maxLines, out BootFileRequest request)
    {
        request = default;
        if (!head.StartsWith(Method))
        {
            return false;
        }

        var end = head.IndexOf(HeadEnd);
        if (end < 0)
        {
            return false;
        }

        var lines = head[..(end + 2)];
        var lineEnd = lines.IndexOf("\r\n"u8);
        var requestLine = lines[..lineEnd];
        if (!requestLine.EndsWith(Version))
        {
            return false;
        }

        var target = requestLine["GET ".Length..^Version.Length];
        if (!TryTarget(target, out var vdisk, out var file, out var key))
        {
            return false;
        }

        var host = false;
        var close = false;
        var count = 0;
        for (var rest = lines[(lineEnd + 2)..]; !rest.IsEmpty;)
        {
            var next = rest.IndexOf("\r\n"u8);
            var line = rest[..next];
            rest = rest[(next + 2)..];
            var colon = line.IndexOf((byte)':');
            if (++count > maxLines || colon <= 0 || line[0] is (byte)' ' or (byte)'\t' || line[colon - 1] is (byte)' ' or (byte)'\t')
            {
                return false;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Is(name, "host"u8))
            {
                if (host || value.IsEmpty)
                {
                    return false;
                }

                host = true;
            }
            else if (Is(name, "connection"u8))
            {
                if (Contains(value, "upgrade"u8))
                {
                    return false;
                }

                close |= Contains(value, "close"u8);
            }
            else if (Is(name, "content-length"u8))
            {
                if (!value.SequenceEqual("0"u8))
                {
                    return false;
                }
            }
            else if (Is(name, "range"u8) || Is(name, "transfer-encoding"u8) || Is(name, "expect"u8) || Is(name, "upgrade"u8)
                || (name.Length > 3 && Is(name[..3], "if-"u8)))
            {
                return false;
            }
        }

        request = new BootFileRequest(vdisk, file, key, end + HeadEnd.Length, close);
        return host;
    }

    /// <summary><c>/boot/files/VDISK/FILE[?key=KEY]</c>, the file one of the two the endpoint serves.</summary>
    private static bool TryTarget(ReadOnlySpan<byte> target, out string vdisk, out string file, out string? key)
    {
        vdisk = file = "";
        key = null;
        const string prefix = "/boot/files/";
        var text = Encoding.ASCII.GetString(target);
        if (!text.StartsWith(prefix, StringComparison.Ordinal) || text.Any(c => c <= ' ' || c >= 0x7f || c is '#' or '+'))
        {
            return false;
        }

        var query = text.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? text[prefix.Length..] : text[prefix.Length..query];
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || path.IndexOf('/', slash + 1) >= 0)
        {
            return false;
        }

        vdisk = Uri.UnescapeDataString(path[..slash]);
        file = Uri.UnescapeDataString(path[(slash + 1)..]);
        if (vdisk.Contains('/', StringComparison.Ordinal) || vdisk.Contains('%', StringComparison.Ordinal) || file is not (IpxeScript.KernelFile or IpxeScript.InitrdFile))
        {
            return false;
        }

        if (query >= 0)
        {
            foreach (var pair in text[(query + 1)..].Split('&'))
            {
                if (pair.StartsWith("key=", StringComparison.Ordinal) && key is null)
                {
                    key = pair[4..];
                    if (key.Contains('%', StringComparison.Ordinal))
                    {
                        return false;
                    }
                }
                else if (pair.StartsWith("key=", StringComparison.Ordinal) || pair == "key")
                {
                    // Two keys, or one without a value: let the endpoint decide what that means.
                    return false;
                }
            }
        }

        return true;
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lower) => Ascii.EqualsIgnoreCase(name, lower);

    private static bool Contains(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lower)
    {
        for (var i = 0; i + lower.Length <= value.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(value.Slice(i, lower.Length), lower))
            {
                return true;
            }
        }

        return false;
    }
}
