using System.Net.Http.Headers;
using System.Net.Mime;
using System.Reflection;
using System.Text.Json;
using Streamboot.Admin;
using Streamboot.Api.Contracts;

namespace Streamboot.Remote;

/// <summary>
/// The HTTP underneath the remote areas: one <see cref="HttpClient"/> for
/// the command's lifetime, the credentials on every request, redirects not
/// followed (a token is never sent on to another address), the server's
/// certificate checked (<see cref="ServerCertificateCheck"/>), every request
/// bounded in time and every answer in size (<see cref="RemoteSettings"/>),
/// and every answer turned into an <see cref="AdminResult{T}"/>: the value,
/// or the error the Admin layer wrote at the server (<see cref="RemoteErrors"/>).
/// </summary>
public sealed class ApiConnection : IDisposable
{
    private static readonly string s_userAgent = $"streamboot/{typeof(ApiConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0"}";
    private readonly HttpClient _http;
    private readonly ServerCertificateCheck _certificates;

    public ApiConnection(RemoteSettings settings)
    {
        Settings = settings;
        _certificates = new ServerCertificateCheck(settings.TrustedCertificates);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = settings.Timeout,
            MaxResponseHeadersLength = 64,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = _certificates.Check;
        // Each request's own deadline (Timeout) covers the body too; the client's would not.
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public RemoteSettings Settings { get; }

    public Task<AdminResult<T>> GetAsync<T>(string path, CancellationToken cancellationToken) => SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    /// <summary>Sends <paramref name="body"/> (as the API's JSON) and reads the answer as <typeparamref name="T"/>; <paramref name="longer"/> adds to the deadline of a request the server takes its time over.</summary>
    public async Task<AdminResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, TimeSpan longer = default)
    {
        var answer = await ExchangeAsync(method, path, body, cancellationToken, longer);
        return answer.Ok ? Decode<T>(answer.Value.Body, method, path.Split('?')[0]) : answer.Error;
    }

    /// <summary>A text answer (a VM's console log).</summary>
    public async Task<AdminResult<string>> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        var answer = await ExchangeAsync(HttpMethod.Get, path, null, cancellationToken);
        return answer.Ok ? System.Text.Encoding.UTF8.GetString(answer.Value.Body) : answer.Error;
    }

    /// <summary>One request and its answer, a success read whole; anything else is the error it stands for.</summary>
    internal async Task<AdminResult<ApiAnswer>> ExchangeAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken, TimeSpan longer = default)
    {
        // Messages name the resource, not the query's flags.
        var resource = path.Split('?')[0];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Settings.Timeout + longer);
        try
        {
            using var request = new HttpRequestMessage(method, Url(path));
            request.Headers.UserAgent.ParseAdd(s_userAgent);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypeNames.Application.Json));
            Settings.Credentials?.Apply(request);
            if (body is not null)
            {
                request.Content = JsonContent(body);
            }

            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var content = await ReadBoundedAsync(response.Content, deadline.Token);
            if (content is null)
            {
                return RemoteErrors.TooLarge(Settings, method, resource);
            }

            var answer = new ApiAnswer(
                (int)response.StatusCode,
                response.Content.Headers.ContentType?.MediaType,
                content,
                response.Headers.Location,
                response.Headers.RetryAfter?.Delta);
            return answer.IsSuccess ? answer : RemoteErrors.FromAnswer(answer, Settings, method, resource);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return RemoteErrors.FromException(e, Settings, _certificates.Refusal, timedOut: e is OperationCanceledException);
        }
    }

    internal AdminResult<T> Decode<T>(ReadOnlySpan<byte> json, HttpMethod method, string path)
    {
        try
        {
            var value = JsonSerializer.Deserialize<T>(json, ApiJson.Options);
            return value is null ? RemoteErrors.Unreadable(Settings, method, path, new JsonException("the answer is null")) : AdminResult<T>.Success(value);
        }
        catch (JsonException e)
        {
            return RemoteErrors.Unreadable(Settings, method, path, e);
        }
    }

    /// <summary>The body, or null when it is longer than the limit (read no further).</summary>
    private async Task<byte[]?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var limit = Settings.MaxResponseBytes;
        if (content.Headers.ContentLength is { } length && length > limit)
        {
            return null;
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 << 10];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private Uri Url(string path) => new(Settings.BaseUri.GetLeftPart(UriPartial.Path).TrimEnd('/') + path, UriKind.Absolute);

    private static ByteArrayContent JsonContent(object body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), ApiJson.Options));
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypeNames.Application.Json);
        return content;
    }

    public void Dispose() => _http.Dispose();
}
