using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Streamboot.Vms.Qemu;

/// <summary>
/// A client of the QEMU Machine Protocol (qemu's docs/interop/qmp-spec):
/// JSON objects, one a line, over the VM's unix socket. The server greets
/// with <c>{"QMP": ...}</c>; <c>qmp_capabilities</c> leaves negotiation;
/// then each <c>{"execute": ...}</c> gets a <c>return</c> or an <c>error</c>,
/// with asynchronous <c>event</c> lines in between.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            var client = new QmpClient(socket);
            var greeting = await client.ReadMessageAsync(cancellationToken);
            if (greeting?["QMP"] is null)
            {
                throw new IOException($"{socketPath} did not greet with QMP");
            }

            await client.ExecuteAsync("qmp_capabilities", null, cancellationToken);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs a command; its <c>return</c> value, or an <see cref="IOException"/> with QEMU's error.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments = null, CancellationToken cancellationToken = default)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            request["arguments"] = arguments;
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToJsonString() + "\n"), cancellationToken);
        while (true)
        {
            var message = await ReadMessageAsync(cancellationToken) ?? throw new IOException($"QEMU closed QMP before answering {command}");
            if (message["event"] is not null)
            {
                continue;
            }

            if (message["error"] is JsonObject error)
            {
                throw new IOException($"QMP {command}: {error["desc"]?.GetValue<string>() ?? error.ToJsonString()}");
            }

            return message["return"];
        }
    }

    private async Task<JsonObject?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                return JsonNode.Parse(line) as JsonObject ?? throw new IOException("QMP sent a line that is not a JSON object");
            }
            catch (JsonException e)
            {
                throw new IOException($"QMP sent a line that is not JSON: {e.Message}", e);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
