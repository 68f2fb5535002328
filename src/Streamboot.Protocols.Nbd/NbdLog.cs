using System.Net;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Nbd;

/// <summary>Every NBD log line, with stable event ids 2000-2999.</summary>
internal static partial class NbdLog
{
    [LoggerMessage(2000, LogLevel.Information, "NBD server listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint? endPoint);

    [LoggerMessage(2001, LogLevel.Information, "NBD server stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(2002, LogLevel.Debug, "NBD connection {Connection} accepted")]
    public static partial void Accepted(ILogger logger, NbdConnectionInfo connection);

    [LoggerMessage(2003, LogLevel.Debug, "NBD connection {Connection} closed ({Reason}) after {Requests} requests")]
    public static partial void Closed(ILogger logger, NbdConnectionInfo connection, string reason, long requests);

    [LoggerMessage(2004, LogLevel.Warning, "NBD connection from {RemoteEndPoint} refused: {Limit} connections are open")]
    public static partial void TooManyConnections(ILogger logger, EndPoint? remoteEndPoint, int limit);

    [LoggerMessage(2005, LogLevel.Error, "NBD accept loop failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(2006, LogLevel.Warning, "NBD connection from {Address} refused: {Limit} connections from that address are open ({Refused} refused since the last such line)")]
    public static partial void TooManyConnectionsFromAddress(ILogger logger, System.Net.IPAddress? address, int limit, int refused);

    [LoggerMessage(2010, LogLevel.Information, "NBD connection {Connection}: handshake failed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, NbdConnectionInfo connection, string reason);

    [LoggerMessage(2011, LogLevel.Debug, "NBD connection {Connection}: option {Option} with {Length} bytes")]
    public static partial void OptionReceived(ILogger logger, NbdConnectionInfo connection, NbdOption option, uint length);

    [LoggerMessage(2012, LogLevel.Debug, "NBD connection {Connection}: option {Option} answered {Reply}: {Message}")]
    public static partial void OptionRefused(ILogger logger, NbdConnectionInfo connection, NbdOption option, NbdOptionReply reply, string message);

    [LoggerMessage(2013, LogLevel.Information, "NBD connection {Connection}: export '{Export}' opened, {Size} bytes, flags {Flags}")]
    public static partial void ExportOpened(ILogger logger, NbdConnectionInfo connection, string export, long size, NbdTransmissionFlags flags);

    [LoggerMessage(2014, LogLevel.Information, "NBD connection {Connection}: export '{Export}' not opened: {Error} {Message}")]
    public static partial void ExportRefused(ILogger logger, NbdConnectionInfo connection, string export, Exports.NbdOpenError error, string? message);

    [LoggerMessage(2015, LogLevel.Error, "NBD connection {Connection}: the export provider failed to open '{Export}'")]
    public static partial void ProviderFailed(ILogger logger, NbdConnectionInfo connection, string export, Exception exception);

    [LoggerMessage(2016, LogLevel.Information, "NBD connection {Connection}: TLS started ({Tls})")]
    public static partial void TlsStarted(ILogger logger, NbdConnectionInfo connection, string tls);

    [LoggerMessage(2017, LogLevel.Warning, "NBD connection {Connection}: TLS handshake failed, closing: {Reason}")]
    public static partial void TlsHandshakeFailed(ILogger logger, NbdConnectionInfo connection, string reason);

    [LoggerMessage(2020, LogLevel.Warning, "NBD connection {Connection}: protocol error, closing: {Reason}")]
    public static partial void ProtocolError(ILogger logger, NbdConnectionInfo connection, string reason);

    [LoggerMessage(2021, LogLevel.Debug, "NBD connection {Connection}: {Command} offset {Offset} length {Length} refused with {Error}: {Reason}")]
    public static partial void RequestRefused(ILogger logger, NbdConnectionInfo connection, NbdCommand command, ulong offset, uint length, NbdError error, string reason);

    [LoggerMessage(2022, LogLevel.Warning, "NBD connection {Connection}: {Command} offset {Offset} length {Length} failed with {Error}")]
    public static partial void RequestFailed(ILogger logger, NbdConnectionInfo connection, NbdCommand command, ulong offset, uint length, NbdError error, Exception exception);

    [LoggerMessage(2032, LogLevel.Information, "NBD connection {Connection}: its session moved to another server, closing (the client reconnects there)")]
    public static partial void SessionMoved(ILogger logger, NbdConnectionInfo connection);

    [LoggerMessage(2023, LogLevel.Debug, "NBD connection {Connection}: sending a reply failed, closing")]
    public static partial void SendFailed(ILogger logger, NbdConnectionInfo connection, Exception exception);

    [LoggerMessage(2024, LogLevel.Information, "NBD connection {Connection}: idle for {Seconds} s with nothing in flight, closing (the client connects again when it needs the disk)")]
    public static partial void IdleClosed(ILogger logger, NbdConnectionInfo connection, double seconds);

    [LoggerMessage(2025, LogLevel.Warning, "NBD connection {Connection}: {Requests} requests ({Bytes} bytes) in flight and none finished for {Seconds} s (the client does not take its replies), closing")]
    public static partial void StallClosed(ILogger logger, NbdConnectionInfo connection, int requests, long bytes, double seconds);

    [LoggerMessage(2030, LogLevel.Error, "NBD connection {Connection}: ending the session of export '{Export}' failed")]
    public static partial void SessionEndFailed(ILogger logger, NbdConnectionInfo connection, string export, Exception exception);

    [LoggerMessage(2031, LogLevel.Error, "NBD connection {Connection}: unexpected failure, closing")]
    public static partial void Unexpected(ILogger logger, NbdConnectionInfo connection, Exception exception);
}
