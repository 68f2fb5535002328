using System.Net;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Tftp;

/// <summary>Every TFTP log line, with stable event ids 3000-3999.</summary>
internal static partial class TftpLog
{
    [LoggerMessage(3000, LogLevel.Information, "TFTP server listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint? endPoint);

    [LoggerMessage(3001, LogLevel.Information, "TFTP server stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(3002, LogLevel.Error, "TFTP receive on the request port failed")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception);

    [LoggerMessage(3003, LogLevel.Error, "TFTP request from {Client} failed unexpectedly; the server goes on")]
    public static partial void RequestFailed(ILogger logger, EndPoint client, Exception exception);

    [LoggerMessage(3004, LogLevel.Warning, "TFTP request from {Client} for '{File}' dropped: {Limit} transfers are running (TftpServerOptions.MaxTransfers); the client will retry")]
    public static partial void TooManyTransfers(ILogger logger, EndPoint client, string file, int limit);

    [LoggerMessage(3005, LogLevel.Error, "TFTP request from {Client} for '{File}': no transfer socket")]
    public static partial void TransferSocketFailed(ILogger logger, EndPoint client, string file, Exception exception);

    [LoggerMessage(3010, LogLevel.Information, "TFTP malformed request from {Client} ({Length} bytes): {Rejection}")]
    public static partial void MalformedRequest(ILogger logger, EndPoint client, int length, TftpRequestRejection rejection);

    [LoggerMessage(3011, LogLevel.Information, "TFTP write request from {Client} for '{File}' refused: the server is read-only")]
    public static partial void WriteRefused(ILogger logger, EndPoint client, string file);

    [LoggerMessage(3020, LogLevel.Debug, "TFTP transfer {Transfer}: {Client} reads '{File}' ({Mode}) from {Local}, options [{Options}]")]
    public static partial void TransferStarted(ILogger logger, long transfer, EndPoint client, string file, TftpMode mode, EndPoint? local, string options);

    [LoggerMessage(3021, LogLevel.Information, "TFTP {Client} read '{File}': {Bytes} bytes in {Seconds:F3} s (blksize {BlockSize}, windowsize {WindowSize}, {Retransmissions} retransmissions)")]
    public static partial void TransferCompleted(ILogger logger, EndPoint client, string file, long bytes, double seconds, int blockSize, int windowSize, long retransmissions);

    [LoggerMessage(3022, LogLevel.Warning, "TFTP access violation: {Client} asked for '{File}', refused: {Reason}")]
    public static partial void AccessViolation(ILogger logger, EndPoint client, string file, string? reason);

    [LoggerMessage(3023, LogLevel.Information, "TFTP file not found: {Client} asked for '{File}': {Reason}")]
    public static partial void NotFound(ILogger logger, EndPoint client, string file, string? reason);

    [LoggerMessage(3024, LogLevel.Warning, "TFTP {Client} reading '{File}' stopped answering at block {Block}: transfer abandoned after {Retransmissions} retransmissions")]
    public static partial void Abandoned(ILogger logger, EndPoint client, string file, long block, int retransmissions);

    [LoggerMessage(3025, LogLevel.Information, "TFTP {Client} ended its read of '{File}' with ERROR {Code}: {Message}")]
    public static partial void ClientError(ILogger logger, EndPoint client, string file, TftpErrorCode code, string message);

    [LoggerMessage(3026, LogLevel.Debug, "TFTP {Client} declined the options for '{File}' (ERROR 8); ending quietly")]
    public static partial void OptionsDeclined(ILogger logger, EndPoint client, string file);

    [LoggerMessage(3027, LogLevel.Error, "TFTP transfer of '{File}' to {Client} failed")]
    public static partial void TransferFailed(ILogger logger, EndPoint client, string file, Exception exception);

    [LoggerMessage(3028, LogLevel.Error, "TFTP the file source failed to open '{File}' for {Client}")]
    public static partial void SourceFailed(ILogger logger, EndPoint client, string file, Exception exception);

    [LoggerMessage(3029, LogLevel.Debug, "TFTP {Client} reading '{File}': timeout at block {Block}, sending again from there")]
    public static partial void Retransmitting(ILogger logger, EndPoint client, string file, long block);

    [LoggerMessage(3030, LogLevel.Information, "TFTP transfer of '{File}' to {Client}: packet from unknown transfer id {Stranger} answered with ERROR 5")]
    public static partial void UnknownTransferId(ILogger logger, EndPoint client, string file, EndPoint stranger);

    [LoggerMessage(3031, LogLevel.Debug, "TFTP transfer of '{File}' to {Client}: ignored a {Length}-byte datagram ({What})")]
    public static partial void Ignored(ILogger logger, EndPoint client, string file, int length, string what);

    [LoggerMessage(3032, LogLevel.Debug, "TFTP transfer of '{File}' to {Client} cut by the server stopping")]
    public static partial void StoppedTransfer(ILogger logger, EndPoint client, string file);

    [LoggerMessage(3040, LogLevel.Error, "TFTP transfer pump: unexpected failure; the pump goes on")]
    public static partial void PumpFailed(ILogger logger, Exception exception);
}
