using System.Net;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Iscsi.Targets;

namespace Streamboot.Protocols.Iscsi;

/// <summary>Every iSCSI log line, with stable event ids 5000-5999. No line carries a key, a secret or a CHAP value.</summary>
internal static partial class IscsiLog
{
    [LoggerMessage(5000, LogLevel.Information, "iSCSI target listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint? endPoint);

    [LoggerMessage(5001, LogLevel.Information, "iSCSI target stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(5002, LogLevel.Debug, "iSCSI connection {Connection} accepted")]
    public static partial void Accepted(ILogger logger, IscsiConnectionInfo connection);

    [LoggerMessage(5003, LogLevel.Debug, "iSCSI connection {Connection} closed: {Reason}")]
    public static partial void Closed(ILogger logger, IscsiConnectionInfo connection, string reason);

    [LoggerMessage(5004, LogLevel.Warning, "iSCSI connection from {RemoteEndPoint} refused: {Limit} connections are open")]
    public static partial void TooManyConnections(ILogger logger, EndPoint? remoteEndPoint, int limit);

    [LoggerMessage(5005, LogLevel.Warning, "iSCSI connection from {RemoteEndPoint} refused: {Limit} logins from that address are in progress")]
    public static partial void TooManyLogins(ILogger logger, EndPoint? remoteEndPoint, int limit);

    [LoggerMessage(5006, LogLevel.Error, "iSCSI accept loop failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(5010, LogLevel.Information, "iSCSI connection {Connection}: {Initiator} logged in to {Target} (session {Tsih}, connection {Cid})")]
    public static partial void LoggedIn(ILogger logger, IscsiConnectionInfo connection, string initiator, string target, ushort tsih, ushort cid);

    [LoggerMessage(5011, LogLevel.Warning, "iSCSI connection {Connection}: login refused ({Status}): {Reason}")]
    public static partial void LoginRefused(ILogger logger, IscsiConnectionInfo connection, LoginStatus status, string reason);

    [LoggerMessage(5012, LogLevel.Warning, "iSCSI connection {Connection}: CHAP response for {Target} as {Name} not proved")]
    public static partial void ChapFailed(ILogger logger, IscsiConnectionInfo connection, string target, string name);

    [LoggerMessage(5013, LogLevel.Information, "iSCSI connection {Connection}: target {Target} not served: {Reason}")]
    public static partial void TargetRefused(ILogger logger, IscsiConnectionInfo connection, string target, string reason);

    [LoggerMessage(5014, LogLevel.Information, "iSCSI connection {Connection}: logged out ({Reason})")]
    public static partial void LoggedOut(ILogger logger, IscsiConnectionInfo connection, string reason);

    [LoggerMessage(5015, LogLevel.Information, "iSCSI session {Tsih} of {Initiator} to {Target} ended")]
    public static partial void SessionEnded(ILogger logger, ushort tsih, string initiator, string target);

    [LoggerMessage(5020, LogLevel.Warning, "iSCSI connection {Connection}: protocol error: {Reason}")]
    public static partial void ProtocolError(ILogger logger, IscsiConnectionInfo connection, string reason);

    [LoggerMessage(5021, LogLevel.Information, "iSCSI connection {Connection}: rejected a {Opcode} PDU ({Reason})")]
    public static partial void Rejected(ILogger logger, IscsiConnectionInfo connection, RejectReason reason, IscsiOpcode opcode);

    [LoggerMessage(5022, LogLevel.Debug, "iSCSI connection {Connection}: CmdSN {CmdSN} outside the window {ExpCmdSN}..{MaxCmdSN}, ignored")]
    public static partial void CmdSNIgnored(ILogger logger, IscsiConnectionInfo connection, uint cmdSN, uint expCmdSN, uint maxCmdSN);

    [LoggerMessage(5023, LogLevel.Information, "iSCSI connection {Connection}: Data-Out for task {Itt} refused (ASC {Asc:x2}h ASCQ {Ascq:x2}h)")]
    public static partial void DataOutRefused(ILogger logger, IscsiConnectionInfo connection, uint itt, byte asc, byte ascq);

    [LoggerMessage(5024, LogLevel.Warning, "iSCSI connection {Connection}: no answer to NOP-In; the initiator is gone")]
    public static partial void PingTimeout(ILogger logger, IscsiConnectionInfo connection);

    [LoggerMessage(5025, LogLevel.Information, "iSCSI connection {Connection}: task management {Function} on {Count} tasks: {Response}")]
    public static partial void TaskManagement(ILogger logger, IscsiConnectionInfo connection, TaskManagementFunction function, int count, TaskManagementResponse response);

    [LoggerMessage(5030, LogLevel.Warning, "iSCSI connection {Connection}: command {Opcode:x2}h failed")]
    public static partial void CommandFailed(ILogger logger, IscsiConnectionInfo connection, byte opcode, Exception exception);

    [LoggerMessage(5031, LogLevel.Warning, "iSCSI session {Tsih}: closing its device failed")]
    public static partial void SessionEndFailed(ILogger logger, ushort tsih, Exception exception);

    [LoggerMessage(5099, LogLevel.Error, "iSCSI connection {Connection}: unexpected failure")]
    public static partial void Unexpected(ILogger logger, IscsiConnectionInfo connection, Exception exception);
}
