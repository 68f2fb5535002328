using System.Net;
using Microsoft.AspNetCore.Http;

namespace Streamboot.Server.Http;

/// <summary>Addresses as the boot planner and the session registry compare them: IPv4 clients of a dual-stack socket as plain IPv4.</summary>
internal static class ClientAddress
{
    public static IPAddress Normal(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>The client's address as text, or null when the connection has none.</summary>
    public static string? Of(HttpContext http) => http.Connection.RemoteIpAddress is { } ip ? Normal(ip).ToString() : null;
}
