using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Streamboot.Http.Bench;

/// <summary>
/// The client side: <see cref="BenchOptions.Connections"/> workers, each on
/// its own keep-alive connection (one <see cref="HttpClient"/> whose pool
/// holds that many), each sending one ranged GET at a time, the way iPXE's
/// SAN-boot reads a disk (one request in flight per connection). The body
/// is read into a buffer reused by the worker and its length checked.
/// </summary>
internal static class RangeClient
{
    /// <summary>What one timed run moved.</summary>
    public readonly record struct Outcome(double MBps, double RequestsPerSecond, long Bytes);

    /// <summary>
    /// Reads ranges of <paramref name="length"/> bytes for <paramref name="seconds"/>:
    /// sequentially (worker w walks its own slice of the disk, wrapping around) or
    /// at random aligned offsets.
    /// </summary>
    public static async Task<Outcome> RunAsync(Uri url, long size, int length, bool random, int connections, double seconds)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(1) };
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var blocks = size / length;
        var workers = Enumerable.Range(0, connections).Select(w => Task.Run(async () =>
        {
            var buffer = new byte[length];
            var rng = new Random(w + 1);
            var next = blocks * w / connections;
            long bytes = 0, requests = 0;
            while (clock.Elapsed < deadline)
            {
                var block = random ? rng.NextInt64(blocks) : next++ % blocks;
                bytes += await ReadRangeAsync(http, url, block * length, buffer);
                requests++;
            }

            return (bytes, requests);
        })).ToArray();
        var done = await Task.WhenAll(workers);
        var elapsed = clock.Elapsed.TotalSeconds;
        var total = done.Sum(d => d.bytes);
        return new Outcome(total / elapsed / 1e6, done.Sum(d => d.requests) / elapsed, total);
    }

    private static async Task<int> ReadRangeAsync(HttpClient http, Uri url, long offset, byte[] buffer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(offset, offset + buffer.Length - 1);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            throw new InvalidOperationException($"GET {url} bytes={offset.ToString(CultureInfo.InvariantCulture)}-: {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        await using var body = await response.Content.ReadAsStreamAsync();
        var read = 0;
        for (int n; read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read))) > 0;)
        {
            read += n;
        }

        return read == buffer.Length ? read : throw new InvalidOperationException($"GET {url} at {offset.ToString(CultureInfo.InvariantCulture)}: {read} of {buffer.Length} bytes");
    }
}
