using Microsoft.AspNetCore.Http;

namespace Streamboot.Server.Http;

/// <summary>
/// A boot file (kernel, initrd) sent whole: read with pread straight into
/// Kestrel's response pipe piece by piece, as vDisk ranges are
/// (<see cref="ResponsePipe"/>). <c>Results.File</c> copies through a FileStream
/// and a buffer of its own, with an asynchronous file read per piece; in a
/// boot storm the boot files were most of a boot (bench/Streamboot.Storm).
/// A request with a range or a condition goes to <c>Results.File</c>, which
/// answers those.
/// </summary>
internal sealed class BootFileResult(string path) : IResult
{
    public static IResult For(HttpRequest request, string path) =>
        HttpMethods.IsGet(request.Method)
            && request.Headers is { Range.Count: 0, IfRange.Count: 0, IfMatch.Count: 0, IfNoneMatch.Count: 0, IfModifiedSince.Count: 0, IfUnmodifiedSince.Count: 0 }
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
        var sent = await ResponsePipe.SendAsync(
            response.BodyWriter, length, (offset, piece) => ValueTask.FromResult(RandomAccess.Read(file, piece.Span, offset)), httpContext.RequestAborted);
        if (!sent)
        {
            // The file shrank under us (an admin replaced it): the client sees a short response, never other bytes.
            httpContext.Abort();
        }
    }
}
