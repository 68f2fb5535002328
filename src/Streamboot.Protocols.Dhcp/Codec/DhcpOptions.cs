using System.Buffers.Binary;
using System.Collections;
using System.Net;
using System.Text;

namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>
/// The options of one packet, in the order they first appeared (or were set).
/// A code appears once: a value longer than 255 bytes is one entry here and
/// is split into several instances only on the wire (RFC 3396). The typed
/// getters return null when the option is absent or has the wrong length, so
/// a malformed value reads the same as a missing one.
/// </summary>
public sealed class DhcpOptions : IEnumerable<DhcpOption>
{
    private readonly List<DhcpOption> _options = [];

    public int Count => _options.Count;

    public bool Contains(DhcpOptionCode code) => IndexOf(code) >= 0;

    public byte[]? Get(DhcpOptionCode code)
    {
        var i = IndexOf(code);
        return i < 0 ? null : _options[i].Value;
    }

    /// <summary>Sets (or replaces, keeping its place) an option.</summary>
    public DhcpOptions Set(DhcpOptionCode code, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (code is DhcpOptionCode.Pad or DhcpOptionCode.End)
        {
            throw new ArgumentException("pad and end carry no value", nameof(code));
        }

        var i = IndexOf(code);
        if (i < 0)
        {
            _options.Add(new DhcpOption(code, value));
        }
        else
        {
            _options[i] = new DhcpOption(code, value);
        }

        return this;
    }

    public DhcpOptions Set(DhcpOptionCode code, byte value) => Set(code, [value]);

    public DhcpOptions Set(DhcpOptionCode code, string value) => Set(code, Encoding.ASCII.GetBytes(value));

    public DhcpOptions Set(DhcpOptionCode code, IPAddress address) => Set(code, AddressBytes(address));

    public DhcpOptions Set(DhcpOptionCode code, IEnumerable<IPAddress> addresses) => Set(code, addresses.SelectMany(AddressBytes).ToArray());

    public DhcpOptions SetUInt32(DhcpOptionCode code, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return Set(code, bytes);
    }

    public DhcpOptions SetUInt16(DhcpOptionCode code, ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return Set(code, bytes);
    }

    public bool Remove(DhcpOptionCode code)
    {
        var i = IndexOf(code);
        if (i >= 0)
        {
            _options.RemoveAt(i);
        }

        return i >= 0;
    }

    public byte? GetByte(DhcpOptionCode code) => Get(code) is [var b] ? b : null;

    public ushort? GetUInt16(DhcpOptionCode code) => Get(code) is { Length: 2 } v ? BinaryPrimitives.ReadUInt16BigEndian(v) : null;

    public uint? GetUInt32(DhcpOptionCode code) => Get(code) is { Length: 4 } v ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;

    public IPAddress? GetAddress(DhcpOptionCode code) => Get(code) is { Length: 4 } v ? new IPAddress(v) : null;

    /// <summary>The value as text (ASCII, a trailing NUL dropped: some ROMs send one).</summary>
    public string? GetString(DhcpOptionCode code) => Get(code) is { } v ? Text(v) : null;

    internal static string Text(ReadOnlySpan<byte> value)
    {
        if (value.Length > 0 && value[^1] == 0)
        {
            value = value[..^1];
        }

        return Encoding.Latin1.GetString(value);
    }

    /// <summary>The options in order, for the packet writer: walking them through <see cref="IEnumerable{T}"/> boxed an enumerator per walk.</summary>
    internal ReadOnlySpan<DhcpOption> AsSpan() => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_options);

    /// <summary>Writes an IPv4 address's 4 bytes (an <see cref="AddressBytes"/> without the array).</summary>
    internal static void WriteAddress(IPAddress address, Span<byte> destination)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || !address.TryWriteBytes(destination, out _))
        {
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        }
    }

    internal static byte[] AddressBytes(IPAddress address)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        }

        return address.GetAddressBytes();
    }

    /// <summary>Adds an option read from the wire, its pieces already joined (RFC 3396 §7); the parser adds each code once.</summary>
    internal void AddJoined(DhcpOptionCode code, byte[] value) => _options.Add(new DhcpOption(code, value));

    private int IndexOf(DhcpOptionCode code)
    {
        for (var i = 0; i < _options.Count; i++)
        {
            if (_options[i].Code == code)
            {
                return i;
            }
        }

        return -1;
    }

    public IEnumerator<DhcpOption> GetEnumerator() => _options.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
