using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Admin.Access;
using Streamboot.Data.Model;

namespace Streamboot.Server.Api;

/// <summary>
/// The admin API's credentials: <c>Authorization: Bearer sbt_…</c> (an API
/// token, read or admin) or <c>Basic</c> with an admin account's name and
/// password. Nothing else is looked at (no cookies, no query strings: a
/// secret in a URL ends up in logs). An address that keeps presenting wrong
/// credentials is refused without a check for a while (<see cref="CredentialThrottle"/>, shared with the console's sign-in),
/// since every password check costs 0.3 s of CPU by design.
/// </summary>
internal sealed partial class ApiAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder, AdminSite site, CredentialThrottle failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "Streamboot";
    public const string ScopeClaim = "streamboot:scope";
    public const string ReadPolicy = "read";
    public const string AdminPolicy = "admin";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization.ToString(), out var header) || header.Parameter is null)
        {
            return AuthenticateResult.NoResult();
        }

        var address = Context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (!failures.MayTry(address))
        {
            Context.Items[nameof(CredentialThrottle)] = true;
            return AuthenticateResult.Fail("too many wrong credentials from this address");
        }

        var access = new AccessAdmin(site);
        Caller? caller = null;
        if (header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            caller = await access.AuthenticateTokenAsync(header.Parameter, Context.RequestAborted);
        }
        else if (header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && DecodeBasic(header.Parameter) is var (name, password))
        {
            caller = await access.AuthenticatePasswordAsync(name, password, Context.RequestAborted);
        }

        if (caller is null)
        {
            failures.Failed(address);
            LogRefused(Logger, address.ToString(), ClientText.ForLog(header.Scheme, 16));
            return AuthenticateResult.Fail("wrong or revoked credentials");
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, caller.Actor), new Claim(ScopeClaim, caller.Scope == ApiScope.Admin ? "admin" : "read")],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(nameof(CredentialThrottle)))
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = ((int)CredentialThrottle.Window.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ApiResults.WriteProblemAsync(Context, StatusCodes.Status429TooManyRequests, "too many wrong credentials from this address; wait a minute and try again");
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"streamboot\", Basic realm=\"streamboot\"";
        await ApiResults.WriteProblemAsync(
            Context,
            StatusCodes.Status401Unauthorized,
            "this needs credentials: 'Authorization: Bearer TOKEN' with a token from 'streamboot token create NAME --scope read|admin', or an admin account's name and password (Basic)");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return ApiResults.WriteProblemAsync(Context, StatusCodes.Status403Forbidden, "this token may only read; a change needs a token of scope admin ('streamboot token create NAME --scope admin')");
    }

    private static (string Name, string Password)? DecodeBasic(string parameter)
    {
        if (parameter.Length > 2048)
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(parameter));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon <= 0 ? null : (text[..colon], text[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    [LoggerMessage(1062, LogLevel.Warning, "API: refused {Address}: wrong or revoked {Scheme} credentials")]
    private static partial void LogRefused(ILogger logger, string address, string scheme);
}
