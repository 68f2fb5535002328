using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Streamboot.Protocols.Dhcp;

/// <summary>IPv4 addresses as host-order numbers, for ranges and masks.</summary>
internal static class IPv4
{
    public static uint ToUInt32(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        }

        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public static IPAddress FromUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    public static bool IsUnspecified(IPAddress address) => address.Equals(IPAddress.Any);
}
