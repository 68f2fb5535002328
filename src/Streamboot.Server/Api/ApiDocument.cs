using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Streamboot.Server.Api;

/// <summary>
/// Says in the OpenAPI document how a client signs in: a Bearer API token
/// (<c>streamboot token create</c>) or an admin account over Basic, on every
/// route. Which scope a route needs is in its 403 response.
/// </summary>
internal sealed class ApiDocument : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Streamboot admin API";
        document.Info.Description = "What the streamboot command line does, through the same Admin layer. Reads need a token of scope read or admin; changes need admin. docs/api.md lists every route.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "sbt_ token",
            Description = "An API token from 'streamboot token create NAME --scope read|admin' (or POST /api/v1/tokens).",
        };
        document.Components.SecuritySchemes["basic"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "basic",
            Description = "An admin account's name and password (streamboot account password NAME).",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("basic", document)] = [] });
        return Task.CompletedTask;
    }
}
