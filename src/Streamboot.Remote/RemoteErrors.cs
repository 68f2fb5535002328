using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Streamboot.Admin;
using Streamboot.Api.Contracts;

namespace Streamboot.Remote;

/// <summary>
/// Every way a remote call fails, as the one-line <see cref="AdminError"/>
/// the command line prints, in one place. A problem the server's Admin layer
/// wrote comes back as it was written (its kind from the status, its detail
/// as the message), so the user reads what they would read at the server;
/// the rest (credentials, limits, transport, TLS) says what happened and
/// what to do. Text from the server is escaped before it reaches a terminal.
/// </summary>
internal static class RemoteErrors
{
    /// <summary>The longest server text a message carries: a detail is one line, and a hostile server must not fill the terminal.</summary>
    private const int MaxDetail = 2000;

    public static AdminError FromAnswer(ApiAnswer answer, RemoteSettings settings, HttpMethod method, string path)
    {
        var problem = Problem(answer);
        var detail = problem?.Detail is { Length: > 0 } text ? ClientText.ForLog(text, MaxDetail) : null;
        switch (answer.Status)
        {
            case ApiProblems.Unauthorized:
                return AdminError.Refused(settings.Credentials is null
                    ? $"the server at {settings.Server} needs credentials: set STREAMBOOT_TOKEN to a token from 'streamboot token create NAME --scope admin' (or --scope read to look only), run on the server; or STREAMBOOT_USER and STREAMBOOT_PASSWORD of an admin account"
                    : $"the server at {settings.Server} refused {settings.Credentials.Source}: it is wrong, revoked or of another site; set STREAMBOOT_TOKEN to a token from 'streamboot token create NAME --scope admin', run on the server");
            case ApiProblems.Forbidden:
                return AdminError.Refused(settings.Credentials?.IsToken == true
                    ? $"the token in STREAMBOOT_TOKEN has scope read: it may look, but {Doing(method, path)} needs a token of scope admin ('streamboot token create NAME --scope admin', run on the server)"
                    : $"the server at {settings.Server} refused {Doing(method, path)}{(detail is null ? "" : ": " + detail)}");
            case ApiProblems.TooManyRequests:
                var wait = answer.RetryAfter is { } after ? $" in {Math.Ceiling(after.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s" : " in a moment";
                return AdminError.Refused($"the server at {settings.Server} refused {Doing(method, path)} for now: {detail ?? "too many requests from this address"}; retry{wait}");
        }

        if (detail is not null)
        {
            return new AdminError(ApiProblems.KindOf(answer.Status, problem!.Title), detail);
        }

        if (answer.Status is >= 300 and < 400)
        {
            return AdminError.Failed($"{settings.Server} answered {Status(answer.Status)} (a redirect{(answer.Location is { } to ? " to " + ClientText.ForLog(to.ToString(), 200) : "")}); give the address it names with --server (STREAMBOOT_SERVER)");
        }

        if (answer.Status == ApiProblems.NotFound || !answer.IsJson)
        {
            return AdminError.Failed($"{settings.Server} answered {Status(answer.Status)} to {method} {path}, not as Streamboot's admin API answers; check --server (STREAMBOOT_SERVER): the URL of a Streamboot server's HTTP or HTTPS port, such as https://pvs1:8443");
        }

        return AdminError.Failed($"the server at {settings.Server} answered {Status(answer.Status)} to {method} {path}");
    }

    /// <summary>A request that got no answer: the server cannot be reached, TLS failed, or time ran out.</summary>
    public static AdminError FromException(Exception exception, RemoteSettings settings, string? tlsRefusal, bool timedOut)
    {
        if (timedOut)
        {
            return AdminError.Failed($"the server at {settings.Server} did not answer within {settings.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; check that it runs and is reachable, or allow longer with STREAMBOOT_REMOTE_TIMEOUT_SECONDS");
        }

        if (exception is HttpRequestException http)
        {
            switch (http.HttpRequestError)
            {
                case HttpRequestError.NameResolutionError:
                    return AdminError.Failed($"cannot reach the server at {settings.Server}: the name {settings.BaseUri.IdnHost} does not resolve; check --server (STREAMBOOT_SERVER)");
                case HttpRequestError.SecureConnectionError:
                    return AdminError.Failed(tlsRefusal is not null
                        ? $"refused the server at {settings.Server}: {tlsRefusal}. {(settings.TrustedCertificates is null ? "Give its site's CA with --ca FILE (STREAMBOOT_CA; the server's DATA/tls/ca-cert.pem)" : "Check --ca (STREAMBOOT_CA): the site's DATA/tls/ca-cert.pem, and that the URL names the server as its certificate does")}"
                        : $"TLS with the server at {settings.Server} failed ({Innermost(http)}); is that its HTTPS port (--https-port, 8443 under the package)?");
                case HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse when settings.BaseUri.Scheme == Uri.UriSchemeHttp:
                    return AdminError.Failed($"the server at {settings.Server} did not answer HTTP ({Innermost(http)}); is that its HTTPS port? Then give https://");
            }

            if (http.InnerException is SocketException socket)
            {
                return AdminError.Failed(socket.SocketErrorCode == SocketError.ConnectionRefused
                    ? $"cannot reach the server at {settings.Server}: connection refused; is 'streamboot serve' running there, and is that its HTTP port (8080) or HTTPS port (8443)?"
                    : $"cannot reach the server at {settings.Server}: {socket.Message}");
            }

            return AdminError.Failed($"cannot reach the server at {settings.Server}: {Innermost(http)}");
        }

        return AdminError.Failed($"talking to the server at {settings.Server} failed: {exception.Message}");
    }

    public static AdminError TooLarge(RemoteSettings settings, HttpMethod method, string path) =>
        AdminError.Failed($"the answer of {settings.Server} to {method} {path} is larger than {ByteSize.Format(settings.MaxResponseBytes)}, the most this command reads (STREAMBOOT_REMOTE_MAX_RESPONSE)");

    public static AdminError Unreadable(RemoteSettings settings, HttpMethod method, string path, JsonException e) =>
        AdminError.Failed($"the answer of {settings.Server} to {method} {path} is not what this streamboot expects (is the server another version?): {ClientText.ForLog(e.Message, 300)}");

    private static ProblemBody? Problem(ApiAnswer answer)
    {
        if (!answer.IsJson || answer.Body.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ProblemBody>(answer.Body, ApiJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the request was doing, in the user's words where the route says it.</summary>
    private static string Doing(HttpMethod method, string path) => method == HttpMethod.Get ? $"reading {path}" : $"a change ({method} {path})";

    private static string Status(int status) =>
        Enum.IsDefined((HttpStatusCode)status) ? $"{status.ToString(CultureInfo.InvariantCulture)} {(HttpStatusCode)status}" : status.ToString(CultureInfo.InvariantCulture);

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    /// <summary>The fields of an RFC 9457 problem that matter here.</summary>
    private sealed record ProblemBody(int? Status, string? Title, string? Detail);
}
