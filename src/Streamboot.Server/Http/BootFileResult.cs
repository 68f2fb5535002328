using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Streamboot.Server.Http;

/// <summary>
/// A boot file (kernel, initrd) sent whole: read with pread straight into
/// Kestrel's response pipe in 256 KiB pieces, as vDisk ranges are
/// (<c>VDiskOverHttp</c>). <c>Results.File</c> copies through a FileStream
/// and a buffer of its own, with an asynchronous file read per piece; in a
/// boot storm the boot files were most of a boot (bench/Streamboot.Storm).
/// A request with a range or a condition goes to <c>Results.File</c>, which
/// answers those.
/// </summary>
internal sealed class BootFileResult(string path) : IResult
{
    private const int Chunk = 256 * 1024;

    public static IResult For(HttpRequest request, string path) =>
        HttpMethods.IsGet(request.Method) && !request.Headers.ContainsKey(HeaderNames.Range)
            && !request.Headers.ContainsKey(HeaderNames.IfRange) && !request.Headers.ContainsKey(HeaderNames.IfMatch)
            && !request.Headers.ContainsKey(HeaderNames.IfNoneMatch) && !request.Headers.ContainsKey(HeaderNames.IfModifiedSince)
            && !request.Headers.ContainsKey(HeaderNames.IfUnmodifiedSince)
            ? new BootFileResult(path)
            : Results.File(path, "application/octet-stream", enableRangeProcessing: true);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(file);
        var response = httpContext.Response;
        response.ContentType = "application/octet-stream";
        response.ContentLength = length;
        response.Headers.AcceptRanges = "bytes";
        var body = response.BodyWriter;
        var aborted = httpContext.RequestAborted;
        for (var done = 0L; done < length;)
        {
            var memory = body.GetMemory((int)Math.Min(Chunk, length - done));
            var want = (int)Math.Min(memory.Length, length - done);
            var n = RandomAccess.Read(file, memory.Span[..want], done);
            if (n == 0)
            {
                // The file shrank under us (an admin replaced it): the client sees a short response, never other bytes.
                httpContext.Abort();
                return;
            }

            body.Advance(n);
            done += n;
            var flushed = await body.FlushAsync(aborted);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }
    }
}
