using System.Text;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Answers;

/// <summary>What a request says about the machine that sent it (the "interpret" step).</summary>
internal sealed record DhcpClient(
    MacAddress Mac,
    DhcpClientArchitecture? Architecture,
    Guid? MachineId,
    byte[]? MachineIdOption,
    string? VendorClass,
    IReadOnlyList<string> UserClasses,
    string? HostName)
{
    /// <summary>Option 60 starts with "PXEClient" (PXE 2.1 §2.4; iPXE sends it too).</summary>
    public bool IsPxe => VendorClass?.StartsWith(DhcpProtocol.PxeClientClass, StringComparison.Ordinal) == true;

    public bool IsIpxe { get; init; }

    public static DhcpClient From(DhcpPacket request, MacAddress mac)
    {
        var options = request.Options;
        var guidOption = options.Get(DhcpOptionCode.ClientMachineIdentifier);
        Guid? guid = guidOption is { Length: 17 } && guidOption[0] == 0 ? new Guid(guidOption.AsSpan(1)) : null;
        var userClasses = UserClassesOf(options.Get(DhcpOptionCode.UserClass));
        return new DhcpClient(
            mac,
            options.GetUInt16(DhcpOptionCode.ClientSystemArchitecture) is { } arch ? (DhcpClientArchitecture)arch : null,
            guid,
            guidOption,
            options.GetString(DhcpOptionCode.VendorClassIdentifier),
            userClasses,
            options.GetString(DhcpOptionCode.HostName))
        {
            IsIpxe = userClasses.Contains("iPXE", StringComparer.Ordinal) || options.Contains(DhcpOptionCode.IpxeEncapsulated),
        };
    }

    /// <summary>
    /// RFC 3004 wants length-prefixed instances; iPXE (and older clients)
    /// send one bare string. A value that is not a well-formed list is one
    /// bare string.
    /// </summary>
    internal static IReadOnlyList<string> UserClassesOf(byte[]? value)
    {
        if (value is null || value.Length == 0)
        {
            return [];
        }

        var classes = new List<string>();
        var i = 0;
        while (i < value.Length)
        {
            var length = value[i];
            if (length == 0 || i + 1 + length > value.Length)
            {
                return [DhcpOptions.Text(value)];
            }

            classes.Add(Encoding.Latin1.GetString(value, i + 1, length));
            i += 1 + length;
        }

        return classes;
    }
}
