using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Streamboot.Cli.Output;
using Streamboot.Remote;

namespace Streamboot.Cli;

/// <summary>
/// Whether a verb runs on a remote site (<c>--server URL</c> or
/// <c>STREAMBOOT_SERVER</c>), and the settings to reach it: the
/// credentials from the environment only (<c>STREAMBOOT_TOKEN</c>, or
/// <c>STREAMBOOT_USER</c> and <c>STREAMBOOT_PASSWORD</c> of an admin
/// account; a flag would show in shell history and <c>ps</c>), the CA of an
/// https URL (<c>--ca</c>, <c>STREAMBOOT_CA</c>), and the bounds of each
/// request (<c>STREAMBOOT_REMOTE_TIMEOUT_SECONDS</c>,
/// <c>STREAMBOOT_REMOTE_MAX_RESPONSE</c>). A remote site and a local one
/// (<c>--data</c>, <c>--db</c>) named together is a usage error: a verb
/// never guesses which site it changes.
/// </summary>
public static class RemoteTarget
{
    /// <summary>The remote site's URL as given (flag first), or null for a local site.</summary>
    public static string? Named(ParseResult parse) =>
        parse.GetValue(GlobalOptions.Server) is { Length: > 0 } flag ? flag : Environment("STREAMBOOT_SERVER");

    /// <summary>
    /// For a verb that works on this machine only: null when no remote site
    /// is named, else the usage exit code after one line that says why this
    /// verb is local and what to do instead.
    /// </summary>
    public static int? RefuseFor(ParseResult parse, string verb, string why)
    {
        if (Named(parse) is null)
        {
            return null;
        }

        var source = parse.GetValue(GlobalOptions.Server) is { Length: > 0 } ? "--server" : "STREAMBOOT_SERVER";
        return CliOutput.Usage($"{verb} does not run through {source}: {why}");
    }

    /// <summary>
    /// The remote site's settings; null for a local site (<paramref name="exitCode"/>
    /// 0) or after printing why the remote settings are unusable (exit code 2).
    /// </summary>
    public static RemoteSettings? Resolve(ParseResult parse, out int exitCode)
    {
        exitCode = ExitCodes.Ok;
        var ca = parse.GetValue(GlobalOptions.Ca) is { Length: > 0 } caFlag ? caFlag : Environment("STREAMBOOT_CA");
        var url = Named(parse);
        if (url is null)
        {
            if (parse.GetValue(GlobalOptions.Ca) is { Length: > 0 })
            {
                exitCode = CliOutput.Usage("--ca is the CA of a remote server's HTTPS certificate; give it with --server https://HOST:PORT (or STREAMBOOT_SERVER)");
            }

            return null;
        }

        var source = parse.GetValue(GlobalOptions.Server) is { Length: > 0 } ? "--server" : "STREAMBOOT_SERVER";
        var local = new[] { ("--data", parse.GetValue(GlobalOptions.Data)), ("--db", parse.GetValue(GlobalOptions.Db)), ("STREAMBOOT_DATA", Environment("STREAMBOOT_DATA")), ("STREAMBOOT_DB", Environment("STREAMBOOT_DB")) }
            .FirstOrDefault(l => !string.IsNullOrWhiteSpace(l.Item2)).Item1;
        if (local is not null)
        {
            exitCode = CliOutput.Usage($"{source} names a remote site and {local} a local one; give one of them (a remote site's data folder and database are the server's own)");
            return null;
        }

        X509Certificate2Collection? trusted = null;
        RemoteCredentials? credentials = null;
        TimeSpan timeout = default;
        long maxResponse = 0;
        var error = Url(url, source, out var uri)
            ?? Credentials(out credentials)
            ?? Trust(ca, uri!, out trusted)
            ?? Bounds(out timeout, out maxResponse);
        if (error is not null)
        {
            exitCode = CliOutput.Usage(error);
            return null;
        }

        if (uri!.Scheme == Uri.UriSchemeHttp && credentials is not null && !IsLoopback(uri))
        {
            System.Console.Error.WriteLine($"streamboot: note: {credentials.Source} crosses the network in the clear over http://; use the server's HTTPS port (https://{uri.Host}:8443 with --ca, 'streamboot serve --https-port')");
        }

        return new RemoteSettings(uri, credentials, trusted, timeout, maxResponse);
    }

    private static string? Url(string text, string source, out Uri? uri)
    {
        uri = null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps) || parsed.Host.Length == 0)
        {
            return $"{source} '{text}' is not a server's URL; give http:// or https:// with the server and its port, such as https://pvs1:8443 (HTTPS) or http://pvs1:8080";
        }

        if (parsed.UserInfo.Length > 0)
        {
            return $"{source} carries credentials in its URL, where shell history and 'ps' show them; set STREAMBOOT_TOKEN (or STREAMBOOT_USER and STREAMBOOT_PASSWORD) instead";
        }

        if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
        {
            return $"{source} '{text}' has a query or fragment; give the server's URL only, such as https://pvs1:8443";
        }

        uri = parsed;
        return null;
    }

    private static string? Credentials(out RemoteCredentials? credentials)
    {
        credentials = null;
        var token = Environment("STREAMBOOT_TOKEN");
        var user = Environment("STREAMBOOT_USER");
        var password = Environment("STREAMBOOT_PASSWORD");
        if (token is not null && (user is not null || password is not null))
        {
            return "both STREAMBOOT_TOKEN and STREAMBOOT_USER/STREAMBOOT_PASSWORD are set; set one of them (unset the other)";
        }

        if (token is not null)
        {
            credentials = RemoteCredentials.Token(token);
        }
        else if (user is not null || password is not null)
        {
            if (user is null || password is null)
            {
                return "an admin account needs both STREAMBOOT_USER and STREAMBOOT_PASSWORD (or set STREAMBOOT_TOKEN to a token instead)";
            }

            credentials = RemoteCredentials.Account(user, password);
        }

        return null;
    }

    private static string? Trust(string? file, Uri uri, out X509Certificate2Collection? trusted)
    {
        trusted = null;
        if (file is null)
        {
            return null;
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            return $"--ca (STREAMBOOT_CA) is for an https:// server; {uri.GetLeftPart(UriPartial.Authority)} is plain HTTP, which has no certificate to check";
        }

        try
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(file);
            if (certificates.Count == 0)
            {
                return $"--ca {file} holds no certificate (PEM, '-----BEGIN CERTIFICATE-----'); give the site's DATA/tls/ca-cert.pem";
            }

            trusted = certificates;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return $"--ca {file}: {e.Message}; give the site's CA certificate in PEM, its DATA/tls/ca-cert.pem";
        }
    }

    private static string? Bounds(out TimeSpan timeout, out long maxResponse)
    {
        timeout = RemoteSettings.DefaultTimeout;
        maxResponse = RemoteSettings.DefaultMaxResponseBytes;
        if (Environment("STREAMBOOT_REMOTE_TIMEOUT_SECONDS") is { } seconds)
        {
            if (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var s) || s is < 1 or > 86400)
            {
                return $"STREAMBOOT_REMOTE_TIMEOUT_SECONDS '{seconds}' is not 1 to 86400 seconds";
            }

            timeout = TimeSpan.FromSeconds(s);
        }

        if (Environment("STREAMBOOT_REMOTE_MAX_RESPONSE") is { } size)
        {
            if (!ByteSize.TryParse(size, out var bytes, out var sizeError))
            {
                return $"STREAMBOOT_REMOTE_MAX_RESPONSE '{size}': {sizeError} (such as 64M)";
            }

            if (bytes < 64 << 10)
            {
                return $"STREAMBOOT_REMOTE_MAX_RESPONSE '{size}' is too small for an answer of the API; give at least 64K (such as 64M)";
            }

            maxResponse = bytes;
        }

        return null;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static string? Environment(string name) => System.Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
