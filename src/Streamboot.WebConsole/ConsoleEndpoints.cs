using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Streamboot.Admin;
using Streamboot.Admin.Access;
using Streamboot.WebConsole.Components;
using Streamboot.WebConsole.Components.Pages;
using Streamboot.WebConsole.Components.Shared;

namespace Streamboot.WebConsole;

/// <summary>
/// The web console under <c>/console</c>: Razor components rendered on the
/// server (static SSR: no WebSocket circuit, every page a plain GET, every
/// change a plain form POST with an anti-forgery token), signed in with a
/// cookie of its own scheme. The API's scheme never reads that cookie, and
/// this one never reads the API's headers: a page cannot be driven by a
/// token, nor the API by a browser's ambient cookie.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Prefix = "/console";
    public const string Scheme = "StreambootConsole";
    public const string Policy = "console";

    /// <summary>Signed in or not: reads the console's cookie when there is one (the not-found page).</summary>
    public const string AnyonePolicy = "console-anyone";
    public const string CookieName = "streamboot-console";

    public static void AddServices(IServiceCollection services, ConsoleSettings settings)
    {
        services.AddSingleton(settings);
        services.TryAddSingleton<CredentialThrottle>();
        services.AddSingleton<TrafficHistory>();
        services.AddHostedService(sp => sp.GetRequiredService<TrafficHistory>());
        // Keys in the data folder, so a restart does not sign everyone out
        // (the folder is the service user's, umask 027, as the site itself).
        services.AddDataProtection()
            .SetApplicationName("streamboot-console")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(settings.DataFolder, "console-keys")));
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = Prefix;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.LoginPath = Prefix + "/signin";
            o.AccessDeniedPath = Prefix + "/signin";
            o.ReturnUrlParameter = "returnUrl";
            o.Events.OnRedirectToLogin = context =>
            {
                // htmx would swap the sign-in page into the dashboard's panel: send the whole page there instead.
                if (context.Request.Headers.ContainsKey("HX-Request"))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    context.Response.Headers["HX-Redirect"] = Prefix + "/signin";
                }
                else
                {
                    context.Response.Redirect(context.RedirectUri);
                }

                return Task.CompletedTask;
            };
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser())
            .AddPolicy(AnyonePolicy, p => p.AddAuthenticationSchemes(Scheme).RequireAssertion(_ => true));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "streamboot-console-af";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = Prefix;
        });
        services.AddRazorComponents();
    }

    /// <summary>Maps the console; call after the authentication and authorization middleware are in place.</summary>
    public static void Map(WebApplication app)
    {
        app.UseAntiforgery();
        app.MapRazorComponents<App>();
        app.MapGet(Prefix + "/assets/{file}", Asset);
        app.MapGet(Prefix + "/live", (HttpContext c) => new RazorComponentResult<LivePanel>()).RequireAuthorization(Policy);
        // The fragments htmx polls: a long operation's progress, a running VM's console.
        app.MapGet(Prefix + "/operations/{id}", (string id) => new RazorComponentResult<OperationProgress>(new { Id = id })).RequireAuthorization(Policy);
        app.MapGet(Prefix + "/vms/{name}/console", (string name) => new RazorComponentResult<VmConsoleLog>(new { Vm = name })).RequireAuthorization(Policy);
        // Any other console path: a page that says so, with 404 (the pages' own routes win over a catch-all).
        // Anyone gets the 404; a signed-in admin's cookie is read too, so the page has the navigation.
        app.MapMethods(Prefix + "/{**rest}", [HttpMethods.Get, HttpMethods.Head], (HttpContext c, string? rest) =>
            new RazorComponentResult<App>(new { NotFound = true }) { StatusCode = StatusCodes.Status404NotFound }).RequireAuthorization(AnyonePolicy);
        app.MapPost(Prefix + "/signout", async (HttpContext c) =>
        {
            // The antiforgery middleware only marks a request (this endpoint's metadata asks it to);
            // an endpoint that binds no form must look at the mark itself. No mark is no token.
            if (c.Features.Get<IAntiforgeryValidationFeature>() is not { IsValid: true })
            {
                return Results.BadRequest("A valid antiforgery token was not provided with the request.");
            }

            await c.SignOutAsync(Scheme);
            return Results.Redirect(Prefix + "/signin");
        }).RequireAuthorization(Policy).WithMetadata(new RequireAntiforgeryTokenAttribute());
    }

    /// <summary>The Admin layer as the signed-in account: the audit log names it (<c>account:NAME</c>).</summary>
    public static AdminSite SiteFor(HttpContext context)
    {
        var server = context.RequestServices.GetRequiredService<AdminSite>();
        var actor = context.User.FindFirstValue(ClaimTypes.Name) ?? throw new InvalidOperationException("the console calls the Admin layer only for a signed-in account");
        return new AdminSite(server.Database, server.DataFolder, actor, server.Clock) { Farm = server.Farm };
    }

    private static IResult Asset(string file)
    {
        var type = Path.GetExtension(file) switch
        {
            ".js" => "text/javascript",
            ".css" => "text/css",
            ".txt" => "text/plain",
            _ => null,
        };
        var stream = type is null ? null : typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("Streamboot.WebConsole.Assets." + file);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type + "; charset=utf-8");
    }
}
