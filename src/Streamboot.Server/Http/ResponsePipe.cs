using System.IO.Pipelines;
using Streamboot.Telemetry;

namespace Streamboot.Server.Http;

/// <summary>
/// Sends a response body by reading each piece straight into the response's
/// own buffer (the pipe Kestrel sends from), not into one of ours copied
/// over: one copy of every byte less (bench/Streamboot.Http.Bench). vDisk
/// ranges and boot files go this way.
/// </summary>
internal static class ResponsePipe
{
    // A piece larger than Kestrel's 4 KiB pool blocks comes from
    // ArrayPool<byte>.Shared; at 256 KiB (the large object heap) a storm of
    // 500 boots fetching kernels outran the pool's few arrays, and the
    // garbage took the server to 1.2 GiB. 64 KiB pieces held it at 410 MiB,
    // finished the storm sooner, and sent HTTP ranges as fast (2026-12-07).
    private const int Chunk = 64 * 1024;

    /// <summary>
    /// Fills <paramref name="length"/> bytes of <paramref name="body"/> piece
    /// by piece, flushing each: <paramref name="read"/> gets the offset in the
    /// body and where to put the bytes, and says how many it put there. False
    /// when it put none before the end (the source ran short); true when the
    /// body is complete or the client went away.
    /// </summary>
    public static async Task<bool> SendAsync(PipeWriter body, long length, Func<long, Memory<byte>, ValueTask<int>> read, CancellationToken aborted)
    {
        for (var done = 0L; done < length;)
        {
            var memory = body.GetMemory((int)Math.Min(Chunk, length - done));
            var n = await read(done, memory[..(int)Math.Min(memory.Length, length - done)]);
            if (n == 0)
            {
                return false;
            }

            body.Advance(n);
            StreambootMetrics.HttpTraffic.Read(n);
            done += n;
            var flushed = await body.FlushAsync(aborted);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return true;
            }
        }

        return true;
    }
}
