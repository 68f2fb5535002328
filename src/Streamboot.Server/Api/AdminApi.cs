using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Api.Contracts;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Api;

/// <summary>
/// The admin REST API under <c>/api/v1</c>: what the command line does,
/// through the same Admin layer (its validation, its one-line errors, its
/// audit log, with the caller as the actor). Every route needs credentials
/// (<see cref="ApiAuthentication"/>); reads need any token, changes a token
/// of scope admin. Its OpenAPI document is <c>/openapi/v1.json</c>.
/// </summary>
public static class AdminApi
{
    public const string Prefix = ApiPaths.Prefix;
    private const string RatePolicy = "api";

    public static void AddServices(IServiceCollection services, StreambootOptions options)
    {
        services.TryAddSingleton<Streamboot.Admin.Access.CredentialThrottle>();
        services.AddAuthentication(ApiAuthentication.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiAuthentication>(ApiAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiAuthentication.ReadPolicy, p => p.RequireAuthenticatedUser())
            .AddPolicy(ApiAuthentication.AdminPolicy, p => p.RequireClaim(ApiAuthentication.ScopeClaim, "admin"));
        services.Configure<JsonOptions>(o => ApiJson.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        // The document describes the admin API; the boot-time routes (scripts, disk views) have their own clients.
        services.AddOpenApi("v1", o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer<ApiDocument>();
        });
        ApiOperations.AddServices(services, options);
        services.AddRateLimiter(limits =>
        {
            limits.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            var perSecond = options.ApiRequestsPerSecond;
            limits.AddPolicy(RatePolicy, context => perSecond <= 0
                ? RateLimitPartition.GetNoLimiter("all")
                : RateLimitPartition.GetTokenBucketLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "",
                    _ => new TokenBucketRateLimiterOptions { TokenLimit = perSecond, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0 }));
        });
        services.AddHostedService<FirstAdminSetup>();
    }

    public static void Map(WebApplication app)
    {
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json");
        var api = app.MapGroup(Prefix).RequireAuthorization(ApiAuthentication.ReadPolicy).RequireRateLimiting(RatePolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        ApiRoutes.MapDevices(api.MapGroup("/devices").WithTags("devices"));
        ApiRoutes.MapCollections(api.MapGroup("/collections").WithTags("collections"));
        ApiVDiskRoutes.Map(api.MapGroup("/vdisks").WithTags("vdisks"));
        ApiVDiskRoutes.MapOperations(api.MapGroup("/operations").WithTags("operations"));
        ApiSiteRoutes.Map(api);
        ApiVmRoutes.Map(api.MapGroup("/vms").WithTags("vms"));
        ApiRoutes.MapTokens(api.MapGroup("/tokens").WithTags("tokens"));
    }

    /// <summary>The Admin layer as the caller: the audit log names the token or account.</summary>
    internal static AdminSite SiteFor(HttpContext context)
    {
        var server = context.RequestServices.GetRequiredService<AdminSite>();
        return new AdminSite(server.Database, server.DataFolder, context.User.FindFirstValue(ClaimTypes.Name) ?? "api", server.Clock) { Farm = server.Farm };
    }

    internal static StreambootOptions Options(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<StreambootOptions>>().Value;
}
