using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Streamboot.Storm;

/// <summary>What one simulated client's boot came to.</summary>
/// <remarks>
/// <see cref="Phases"/>: seconds spent getting the script (with retries), the
/// boot files, opening the NBD connection (connect and handshake: the server
/// starts the boot's session here), and the NBD replay of the requests. <see cref="NbdMs"/> holds every request;
/// <see cref="WriteMs"/> and <see cref="FlushMs"/> the writes' and flushes' alone.
/// </remarks>
internal sealed record ClientResult(bool Ok, string? Error, double Seconds, long HttpBytes, long NbdBytes, int Retries, List<double> HttpMs, List<double> ScriptMs, List<double> NbdMs, List<double> WriteMs, List<double> FlushMs, double[] Phases);

/// <summary>
/// One diskless client booting, as iPXE and the test OS's initramfs do it,
/// from an address of its own (127.x.y.z: loopback is a /8, and servers
/// limit connections per address): GET the boot script for its MAC, then
/// the kernel and the initrds it names over one keep-alive HTTP connection,
/// then its own NBD session with the script's export (and the boot's key)
/// replaying the recorded boot's requests in order, one at a time, writes
/// carrying bytes of the trace's sizes. HTTP latency is the time to the
/// response headers (the bodies are megabytes); NBD latency is request sent
/// to reply read.
/// </summary>
internal static class SimulatedClient
{
    /// <summary>
    /// How long one HTTP request or NBD connection may take before the
    /// client gives it up and tries again, as iPXE's failed boot does: a
    /// server whose listen queue overflowed (busybox httpd listens with a
    /// backlog of 9) leaves a client waiting for SYN-ACK retransmissions.
    /// </summary>
    public static readonly TimeSpan Attempt = TimeSpan.FromSeconds(30);

    /// <summary>Attempts of each request before the boot fails.</summary>
    public const int Attempts = 3;

    private static readonly byte[] s_writeData = MakeWriteData();

    /// <summary>The MAC of client <paramref name="index"/>: locally administered, 52:54:00 like QEMU's.</summary>
    public static string Mac(int index) => $"52:54:00:{(index >> 16) & 0xff:x2}:{(index >> 8) & 0xff:x2}:{index & 0xff:x2}";

    /// <summary>The source address of client <paramref name="index"/>, never 127.0.0.1.</summary>
    public static IPAddress Address(int index) => new([127, (byte)(1 + (index / 62500)), (byte)(index / 250 % 250), (byte)((index % 250) + 1)]);

    /// <summary>Boots client <paramref name="index"/> against the script at <paramref name="scriptUrl"/>.</summary>
    public static async Task<ClientResult> BootAsync(int index, string scriptUrl, BootTrace trace, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var httpMs = new List<double>(8);
        var scriptMs = new List<double>(2);
        var writeMs = new List<double>(32);
        var flushMs = new List<double>(2);
        var phases = new double[4];
        var nbdMs = new List<double>(trace.Ops.Count);
        long httpBytes = 0;
        long nbdBytes = 0;
        var retries = 0;
        var source = Address(index);
        try
        {
            using var http = new HttpClient(Handler(source)) { Timeout = TimeSpan.FromMinutes(5) };
            var buffer = new byte[1 << 20];
            BootScript? script;
            while (true)
            {
                var ((text, ms), lost) = await RetryAsync(attempt => GetStringAsync(http, $"{scriptUrl}?mac={Mac(index)}", attempt), () => retries++, cancellationToken);
                ms += lost;
                httpMs.Add(ms);
                scriptMs.Add(ms);
                script = BootScript.Parse(text, out var retrySeconds);
                if (script is not null)
                {
                    break;
                }

                if (retrySeconds <= 0 || retries >= 20)
                {
                    throw new InvalidDataException($"a boot script with no kernel: {text.ReplaceLineEndings(" | ")}");
                }

                retries++;
                await Task.Delay(TimeSpan.FromSeconds(retrySeconds), cancellationToken);
            }

            phases[0] = clock.Elapsed.TotalSeconds;
            foreach (var url in script.InitrdUrls.Prepend(script.KernelUrl))
            {
                var ((bytes, ms), lost) = await RetryAsync(attempt => GetBytesAsync(http, url, buffer, attempt), () => retries++, cancellationToken);
                ms += lost;
                httpMs.Add(ms);
                httpBytes += bytes;
            }

            phases[1] = clock.Elapsed.TotalSeconds - phases[0];
            var host = IPAddress.Parse(script.NbdHost);
            var (connected, _) = await RetryAsync(
                attempt => NbdClient.ConnectAsync(new IPEndPoint(host, script.NbdPort), source, script.NbdExport, attempt),
                () => retries++,
                cancellationToken);
            await using var nbd = connected;
            phases[2] = clock.Elapsed.TotalSeconds - phases[0] - phases[1];
            foreach (var op in trace.Ops)
            {
                var start = Stopwatch.GetTimestamp();
                switch (op.Op)
                {
                    case 'R':
                        await nbd.ReadAsync(op.Offset, buffer.AsMemory(0, op.Length), cancellationToken);
                        nbdBytes += op.Length;
                        break;
                    case 'W':
                        await nbd.WriteAsync(op.Offset, s_writeData.AsMemory(0, op.Length), cancellationToken);
                        nbdBytes += op.Length;
                        break;
                    default:
                        await nbd.FlushAsync(cancellationToken);
                        break;
                }

                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                nbdMs.Add(ms);
                (op.Op == 'W' ? writeMs : op.Op == 'F' ? flushMs : null)?.Add(ms);
            }

            phases[3] = clock.Elapsed.TotalSeconds - phases[0] - phases[1] - phases[2];

            return new ClientResult(true, null, clock.Elapsed.TotalSeconds, httpBytes, nbdBytes, retries, httpMs, scriptMs, nbdMs, writeMs, flushMs, phases);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new ClientResult(false, $"client {index} ({Mac(index)}): {e.GetType().Name}: {e.Message}", clock.Elapsed.TotalSeconds, httpBytes, nbdBytes, retries, httpMs, scriptMs, nbdMs, writeMs, flushMs, phases);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> with <see cref="Attempt"/> per try,
    /// <see cref="Attempts"/> tries; returns its value and the milliseconds
    /// the failed tries cost (a latency includes them).
    /// </summary>
    private static async Task<(T Value, double LostMs)> RetryAsync<T>(Func<CancellationToken, Task<T>> action, Action retried, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(Attempt);
            var tried = Stopwatch.GetTimestamp();
            try
            {
                var value = await action(cts.Token);
                return (value, Stopwatch.GetElapsedTime(start, tried).TotalMilliseconds);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && attempt < Attempts)
            {
                retried();
            }
        }
    }

    private static SocketsHttpHandler Handler(IPAddress source) => new()
    {
        MaxConnectionsPerServer = 1,
        UseProxy = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    private static async Task<(string Text, double Ms)> GetStringAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync(cancellationToken), ms);
    }

    private static async Task<(long Bytes, double Ms)> GetBytesAsync(HttpClient http, string url, byte[] buffer, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
        }

        if (response.Content.Headers.ContentLength is { } length && length != total)
        {
            throw new IOException($"{url}: {total} bytes of {length}");
        }

        return (total, ms);
    }

    private static byte[] MakeWriteData()
    {
        var data = new byte[4 << 20];
        new Random(14).NextBytes(data);
        return data;
    }
}
