using System.Net;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Tftp;

/// <summary>Every TFTP log line, with stable event ids 4000-4999 (DHCP has 3000-3999).</summary>
internal static partial class TftpLog
{
    [LoggerMessage(4000, LogLevel.Information, "TFTP server listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint? endPoint);

    [LoggerMessage(4001, LogLevel.Information, "TFTP server stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(4002, LogLevel.Error, "TFTP receive on the request port failed")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception);

    [LoggerMessage(4003, LogLevel.Error, "TFTP request from {Client} failed unexpectedly; the server goes on")]
    public static partial void RequestFailed(ILogger logger, EndPoint client, Exception exception);

    [LoggerMessage(4004, LogLevel.Warning, "TFTP request from {Client} for '{File}' dropped: {Limit} transfers are running (TftpServerOptions.MaxTransfers); the client will retry ({Suppressed} similar lines suppressed)")]
    public static partial void TooManyTransfers(ILogger logger, EndPoint client, string file, int limit, long suppressed);

    [LoggerMessage(4005, LogLevel.Error, "TFTP request from {Client} for '{File}': no transfer socket")]
    public static partial void TransferSocketFailed(ILogger logger, EndPoint client, string file, Exception exception);

    [LoggerMessage(4006, LogLevel.Warning, "TFTP request from {Client} for '{File}' dropped: {Limit} transfers from that address are running (TftpServerOptions.MaxTransfersPerClient) ({Suppressed} similar lines suppressed)")]
    public static partial void TooManyFromClient(ILogger logger, EndPoint client, string file, int limit, long suppressed);

    [LoggerMessage(4010, LogLevel.Information, "TFTP malformed request from {Client} ({Length} bytes): {Rejection} ({Suppressed} similar lines suppressed)")]
    public static partial void MalformedRequest(ILogger logger, EndPoint client, int length, TftpRequestRejection rejection, long suppressed);

    [LoggerMessage(4011, LogLevel.Information, "TFTP write request from {Client} for '{File}' refused: the server is read-only ({Suppressed} similar lines suppressed)")]
    public static partial void WriteRefused(ILogger logger, EndPoint client, string file, long suppressed);

    [LoggerMessage(4020, LogLevel.Debug, "TFTP transfer {Transfer}: {Client} reads '{File}' ({Mode}) from {Local}, options [{Options}]")]
    public static partial void TransferStarted(ILogger logger, long transfer, EndPoint client, string file, TftpMode mode, EndPoint? local, string options);

    [LoggerMessage(4021, LogLevel.Information, "TFTP {Client} read '{File}': {Bytes} bytes in {Seconds:F3} s (blksize {BlockSize}, windowsize {WindowSize}, {Retransmissions} retransmissions)")]
    public static partial void TransferCompleted(ILogger logger, EndPoint client, string file, long bytes, double seconds, int blockSize, int windowSize, long retransmissions);

    [LoggerMessage(4022, LogLevel.Warning, "TFTP access violation: {Client} asked for '{File}', refused: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void AccessViolation(ILogger logger, EndPoint client, string file, string reason, long suppressed);

    [LoggerMessage(4023, LogLevel.Information, "TFTP file not found: {Client} asked for '{File}': {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void NotFound(ILogger logger, EndPoint client, string file, string reason, long suppressed);

    [LoggerMessage(4024, LogLevel.Warning, "TFTP {Client} reading '{File}' stopped answering at block {Block}: transfer abandoned after {Retransmissions} retransmissions in {Seconds:F1} s without progress ({Suppressed} similar lines suppressed)")]
    public static partial void Abandoned(ILogger logger, EndPoint client, string file, long block, int retransmissions, double seconds, long suppressed);

    [LoggerMessage(4025, LogLevel.Information, "TFTP {Client} ended its read of '{File}' with ERROR {Code}: {Message}")]
    public static partial void ClientError(ILogger logger, EndPoint client, string file, TftpErrorCode code, string message);

    [LoggerMessage(4026, LogLevel.Debug, "TFTP {Client} declined the options for '{File}' (ERROR 8); ending quietly")]
    public static partial void OptionsDeclined(ILogger logger, EndPoint client, string file);

    [LoggerMessage(4027, LogLevel.Error, "TFTP transfer of '{File}' to {Client} failed")]
    public static partial void TransferFailed(ILogger logger, EndPoint client, string file, Exception exception);

    [LoggerMessage(4028, LogLevel.Error, "TFTP the file source failed to open '{File}' for {Client}")]
    public static partial void SourceFailed(ILogger logger, EndPoint client, string file, Exception exception);

    [LoggerMessage(4029, LogLevel.Debug, "TFTP {Client} reading '{File}': timeout at block {Block}, sending again from there")]
    public static partial void Retransmitting(ILogger logger, EndPoint client, string file, long block);

    [LoggerMessage(4030, LogLevel.Information, "TFTP transfer of '{File}' to {Client}: packet from unknown transfer id {Stranger} answered with ERROR 5 ({Suppressed} similar lines suppressed)")]
    public static partial void UnknownTransferId(ILogger logger, EndPoint client, string file, EndPoint stranger, long suppressed);

    [LoggerMessage(4031, LogLevel.Debug, "TFTP transfer of '{File}' to {Client}: ignored a {Length}-byte datagram ({What})")]
    public static partial void Ignored(ILogger logger, EndPoint client, string file, int length, string what);

    [LoggerMessage(4032, LogLevel.Debug, "TFTP transfer of '{File}' to {Client} cut by the server stopping")]
    public static partial void StoppedTransfer(ILogger logger, EndPoint client, string file);

    [LoggerMessage(4040, LogLevel.Error, "TFTP transfer pump: unexpected failure; the pump goes on")]
    public static partial void PumpFailed(ILogger logger, Exception exception);
}
