using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Streamboot;

/// <summary>
/// An IEEE 802 MAC-48 address. Stored as the low 48 bits of a ulong so it is
/// a cheap dictionary key on the DHCP path and compares by value.
/// </summary>
public readonly record struct MacAddress : ISpanFormattable, IComparable<MacAddress>
{
    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    public static MacAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 6)
        {
            throw new ArgumentException("A MAC address is 6 bytes.", nameof(bytes));
        }

        Span<byte> buffer = stackalloc byte[8];
        buffer.Clear();
        bytes.CopyTo(buffer[2..]);
        return new MacAddress(BinaryPrimitives.ReadUInt64BigEndian(buffer));
    }

    public void WriteBytes(Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, _value);
        buffer[2..].CopyTo(destination);
    }

    /// <summary>
    /// Accepts the spellings admins paste: <c>52:54:00:12:34:56</c>,
    /// <c>52-54-00-12-34-56</c>, <c>5254.0012.3456</c> (Cisco) and
    /// <c>525400123456</c>, in either case.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null)
        {
            return false;
        }

        var s = text.Trim();
        Span<char> hex = stackalloc char[12];
        var n = 0;
        char? separator = null;
        var groupLength = 0;
        var groupLengths = new List<int>(6);
        foreach (var c in s)
        {
            if (char.IsAsciiHexDigit(c))
            {
                if (n == 12)
                {
                    return false;
                }

                hex[n++] = c;
                groupLength++;
            }
            else if (c is ':' or '-' or '.')
            {
                // One kind of separator throughout, never doubled or leading.
                if ((separator is not null && separator != c) || groupLength == 0)
                {
                    return false;
                }

                separator = c;
                groupLengths.Add(groupLength);
                groupLength = 0;
            }
            else
            {
                return false;
            }
        }

        if (n != 12 || groupLength == 0)
        {
            return false;
        }

        groupLengths.Add(groupLength);
        var valid = separator switch
        {
            null => groupLengths.Count == 1,
            '.' => groupLengths.Count == 3 && groupLengths.TrueForAll(g => g == 4),
            _ => groupLengths.Count == 6 && groupLengths.TrueForAll(g => g == 2),
        };
        if (!valid)
        {
            return false;
        }

        mac = new MacAddress(ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>ff:ff:ff:ff:ff:ff: every station on the link, never one card.</summary>
    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFF;

    /// <summary>00:00:00:00:00:00: no card's address (firmware that has none yet reports it).</summary>
    public bool IsZero => _value == 0;

    /// <summary>The I/G bit (bit 0 of the first byte) set: a group address (01:00:5e:... IPv4 multicast, 33:33:... IPv6).</summary>
    public bool IsMulticast => ((_value >> 40) & 1) == 1;

    /// <summary>
    /// Why this cannot be one network card's own address (IEEE 802: a
    /// station's address is an individual one), or null when it can be.
    /// </summary>
    public string? WhyNotACard() =>
        IsBroadcast ? $"{this} is the broadcast address (every machine on the network), not one network card's"
        : IsZero ? $"{this} is no network card's address (a card reports it when it has none)"
        : IsMulticast ? $"{this} is a multicast (group) address, not one network card's: its first byte is odd"
        : null;

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac)
            ? mac
            : throw new FormatException($"'{text}' is not a MAC address; write it as 52:54:00:12:34:56, 52-54-00-12-34-56 or 525400123456.");

    /// <summary>The canonical form: lower-case hex, colon separated.</summary>
    public override string ToString() => ToString(null, null);

    public string ToString(string? format, IFormatProvider? formatProvider) =>
        string.Create(17, _value, static (span, value) =>
        {
            const string Digits = "0123456789abcdef";
            for (var i = 0; i < 6; i++)
            {
                var b = (byte)(value >> ((5 - i) * 8));
                span[i * 3] = Digits[b >> 4];
                span[(i * 3) + 1] = Digits[b & 0xF];
                if (i < 5)
                {
                    span[(i * 3) + 2] = ':';
                }
            }
        });

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        var s = ToString();
        charsWritten = 0;
        if (!s.TryCopyTo(destination))
        {
            return false;
        }

        charsWritten = s.Length;
        return true;
    }

    public int CompareTo(MacAddress other) => _value.CompareTo(other._value);
}
