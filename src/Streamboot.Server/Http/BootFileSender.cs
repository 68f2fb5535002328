using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;
using Streamboot.Sessions;
using Streamboot.Telemetry;

namespace Streamboot.Server.Http;

/// <summary>
/// Kestrel connection middleware on the plain HTTP port: sends whole boot
/// files (<c>GET /boot/files/VDISK/vmlinuz</c> and <c>initrd.img</c>) with
/// sendfile(2), from the page cache to the socket without a copy through
/// the server. Kestrel has no sendfile: it copies every byte out of the
/// page cache into its pipe and again into the socket, and in a boot storm
/// those copies were most of the server's CPU (~1.8 CPU s a GB; 20 MB a
/// client, docs/performance.md).
/// </summary>
/// <remarks>
/// It looks at each request before Kestrel does. A complete request head,
/// in what has arrived, that is a plain GET of a boot file by HTTP/1.1
/// (no range, no condition, no body, no upgrade), whose vDisk and key the
/// session layer accepts (<see cref="IBootSessions.BootFilesAsync"/>, the
/// same check as the endpoint's) and whose file exists, it answers itself;
/// then it waits for the connection's next request. At the first request
/// it does not answer (anything else, a head that has not arrived whole, a
/// refusal, a missing file), the connection goes to Kestrel with that
/// request unread, and Kestrel answers it and the rest as it always did:
/// errors, ranges and every other route keep one implementation.
/// Bounds: the head must fit <see cref="MaxHead"/> bytes and 100 lines or
/// Kestrel gets it (and applies its own limits); an idle connection is
/// closed after <c>HttpIdleSeconds</c>, as Kestrel's keep-alive timeout; a
/// send that makes less than <see cref="MinBytesPerSecond"/> progress on
/// average (a client that stopped reading) is cut off.
/// </remarks>
internal sealed partial class BootFileSender(IBootSessions sessions, TimeSpan idle, ILogger logger)
{
    private const int MaxHead = 8192;
    private const int MaxHeaderLines = 100;
    private const long MinBytesPerSecond = 64 * 1024;

    public ConnectionDelegate Apply(ConnectionDelegate next) => async connection =>
    {
        if (!OperatingSystem.IsLinux() || connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            await next(connection);
            return;
        }

        var input = connection.Transport.Input;
        // Kestrel asks its connections to close when the server stops; one this
        // middleware holds between requests closes at once, as Kestrel's own do.
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        while (true)
        {
            ReadResult read;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, closing))
            {
                wait.CancelAfter(idle);
                try
                {
                    read = await input.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    // Idle past the keep-alive timeout, the server stopping, or gone.
                    connection.Abort(new ConnectionAbortedException("idle"));
                    return;
                }
            }

            var buffer = read.Buffer;
            if (buffer.IsEmpty && read.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return;
            }

            var answer = await TryAnswerAsync(buffer, connection.ConnectionClosed);
            if (answer is not { } request)
            {
                // Kestrel reads this request again from where it starts.
                input.AdvanceTo(buffer.Start);
                await next(connection);
                return;
            }

            input.AdvanceTo(buffer.GetPosition(request.HeadLength));
            using (request.File)
            {
                if (!await SendAsync(socket, request, connection))
                {
                    connection.Abort(new ConnectionAbortedException("boot file send failed"));
                    return;
                }
            }

            if (request.Close)
            {
                return;
            }
        }
    };

    /// <summary>A request this middleware answers, its file opened; null for Kestrel.</summary>
    private async ValueTask<Answer?> TryAnswerAsync(System.Buffers.ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        if (!BootFileRequest.TryParse(buffer, MaxHead, MaxHeaderLines, out var request))
        {
            return null;
        }

        var folder = await sessions.BootFilesAsync(new BootFilesRequest(request.VDisk, request.Key), cancellationToken);
        if (!folder.Ok)
        {
            return null;
        }

        Microsoft.Win32.SafeHandles.SafeFileHandle file;
        try
        {
            // Asynchronous: SendPacketsElement takes only such a stream (sendfile itself does not care).
            file = File.OpenHandle(Path.Combine(folder.Value, "boot", request.File), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        var length = RandomAccess.GetLength(file);
        if (length > int.MaxValue)
        {
            // SendPacketsElement counts in int: a 2 GiB initrd goes the pipe's way.
            file.Dispose();
            return null;
        }

        return new Answer(file, length, request.HeadLength, request.Close);
    }

    private async Task<bool> SendAsync(Socket socket, Answer answer, ConnectionContext connection)
    {
        StreambootMetrics.HttpTraffic.Request();
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nDate: {DateTime.UtcNow:r}\r\n{(answer.Close ? "Connection: close\r\n" : "")}\r\n");
        using var stream = new FileStream(answer.File, FileAccess.Read, bufferSize: 0, isAsync: true);
        using var args = new SocketAsyncEventArgs
        {
            SendPacketsElements = [new SendPacketsElement(head), new SendPacketsElement(stream, 0, (int)answer.Length, endOfPacket: true)],
        };
        var done = new TaskCompletionSource<SocketError>(TaskCreationOptions.RunContinuationsAsynchronously);
        args.Completed += (_, a) => done.TrySetResult(a.SocketError);
        if (!socket.SendPacketsAsync(args))
        {
            done.TrySetResult(args.SocketError);
        }

        var limit = idle + TimeSpan.FromSeconds((double)answer.Length / MinBytesPerSecond);
        SocketError error;
        try
        {
            error = await done.Task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            LogStalled(logger, ClientAddress.Normal(((System.Net.IPEndPoint)connection.RemoteEndPoint!).Address).ToString(), (int)limit.TotalSeconds);
            StreambootMetrics.Refused(StreambootMetrics.Http, "boot_file_stalled");
            connection.Abort(new ConnectionAbortedException("stalled"));
            await done.Task;
            return false;
        }

        if (error != SocketError.Success || args.BytesTransferred != head.Length + answer.Length || RandomAccess.GetLength(answer.File) < answer.Length)
        {
            // Gone mid-file, or the file shrank under us (an admin replaced it): never other bytes than it announced.
            return false;
        }

        StreambootMetrics.HttpTraffic.Read(answer.Length);
        StreambootMetrics.BootFilesSent.Add(1);
        return true;
    }

    private sealed record Answer(Microsoft.Win32.SafeHandles.SafeFileHandle File, long Length, int HeadLength, bool Close);

    [LoggerMessage(1012, LogLevel.Warning, "HTTP: cut off a boot file to {Address}: not read within {Seconds} s")]
    private static partial void LogStalled(ILogger logger, string address, int seconds);
}
