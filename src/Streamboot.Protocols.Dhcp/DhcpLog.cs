using System.Net;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp;

/// <summary>Every DHCP and router-advertisement log line, with stable event ids 3000-3999.</summary>
internal static partial class DhcpLog
{
    [LoggerMessage(3000, LogLevel.Information, "DHCP server ({Mode}) listening on {Interface} as {Address}, ports {Ports}")]
    public static partial void Listening(ILogger logger, DhcpMode mode, string @interface, IPAddress address, string ports);

    [LoggerMessage(3001, LogLevel.Information, "DHCP server on {Interface} stopped: {Counters}")]
    public static partial void Stopped(ILogger logger, string @interface, DhcpCounters counters);

    [LoggerMessage(3002, LogLevel.Information, "DHCP {Mode}: {MessageType} to {Mac} (arch {Architecture}, {VendorClass}) address {Address}, file {BootFile}, sent to {Destination}")]
    public static partial void Answered(ILogger logger, DhcpMode mode, DhcpMessageType messageType, MacAddress mac, string architecture, string? vendorClass, IPAddress address, string? bootFile, IPEndPoint destination);

    [LoggerMessage(3003, LogLevel.Debug, "DHCP {Mode}: dropped {MessageType} from {Mac} ({Source}): {Reason}: {Detail} ({Suppressed} similar lines suppressed)")]
    public static partial void Dropped(ILogger logger, DhcpMode mode, DhcpMessageType? messageType, MacAddress? mac, IPEndPoint source, DhcpDropReason reason, string detail, long suppressed);

    [LoggerMessage(3004, LogLevel.Information, "DHCP: dropped a malformed datagram of {Length} bytes from {Source}: {Reason}: {Error} ({Suppressed} similar lines suppressed)")]
    public static partial void Malformed(ILogger logger, int length, IPEndPoint source, DhcpDropReason reason, DhcpParseError error, long suppressed);

    [LoggerMessage(3005, LogLevel.Information, "DHCP {Mode}: {Mac}: {Detail}")]
    public static partial void LeaseChanged(ILogger logger, DhcpMode mode, MacAddress mac, string detail);

    [LoggerMessage(3006, LogLevel.Warning, "DHCP {Mode}: no answer for {Mac}: {Reason}: {Detail} ({Suppressed} similar lines suppressed)")]
    public static partial void NotAnswered(ILogger logger, DhcpMode mode, MacAddress? mac, DhcpDropReason reason, string detail, long suppressed);

    [LoggerMessage(3007, LogLevel.Error, "DHCP {Mode}: the host failed while answering {Mac} ({Suppressed} similar lines suppressed)")]
    public static partial void HostFailed(ILogger logger, DhcpMode mode, MacAddress? mac, long suppressed, Exception exception);

    [LoggerMessage(3008, LogLevel.Warning, "DHCP on {Interface}: receiving failed")]
    public static partial void ReceiveFailed(ILogger logger, string @interface, Exception exception);

    [LoggerMessage(3009, LogLevel.Warning, "DHCP on {Interface}: sending to {Destination} failed")]
    public static partial void SendFailed(ILogger logger, string @interface, IPEndPoint destination, Exception exception);

    [LoggerMessage(3010, LogLevel.Information, "DHCP on {Interface}: dropped a datagram of {Length} bytes from {Source} unread: larger than {Limit} bytes (DhcpServerOptions.MaxDatagramSize) ({Suppressed} similar lines suppressed)")]
    public static partial void TooLarge(ILogger logger, string @interface, int length, IPEndPoint source, int limit, long suppressed);

    [LoggerMessage(3011, LogLevel.Information, "DHCP full: {Address} not given to {Mac}: the lease store holds it for {Holder} ({State} until {Expires:u}): another server gave it, or its client took it meanwhile ({Suppressed} similar lines suppressed)")]
    public static partial void ClaimLost(ILogger logger, IPAddress address, MacAddress mac, MacAddress? holder, Leases.DhcpLeaseState? state, DateTimeOffset? expires, long suppressed);

    [LoggerMessage(3050, LogLevel.Information, "Router advertisements on {Interface} every {Interval} (router lifetime 0: not a default router)")]
    public static partial void AdvertiserStarted(ILogger logger, string @interface, TimeSpan interval);

    [LoggerMessage(3051, LogLevel.Debug, "Router advertisement sent on {Interface} ({Why})")]
    public static partial void AdvertisementSent(ILogger logger, string @interface, string why);

    [LoggerMessage(3052, LogLevel.Debug, "Router solicitation from {Source} on {Interface}")]
    public static partial void SolicitationReceived(ILogger logger, string @interface, EndPoint source);

    [LoggerMessage(3053, LogLevel.Warning, "Router advertisements on {Interface} failed")]
    public static partial void AdvertiserFailed(ILogger logger, string @interface, Exception exception);

    [LoggerMessage(3054, LogLevel.Information, "Router advertisements on {Interface} stopped after {Count} sent")]
    public static partial void AdvertiserStopped(ILogger logger, string @interface, long count);
}
