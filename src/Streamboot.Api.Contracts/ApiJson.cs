using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streamboot.Api.Contracts;

/// <summary>
/// The JSON of the admin API, and of the command line's <c>--json</c>:
/// camelCase names, enums as their kebab-case names (<c>server-disk</c>),
/// as the database stores them.
/// </summary>
public static class ApiJson
{
    /// <summary>The API's options, read-only: the server's own are configured with <see cref="Configure"/>.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>Adds the API's conventions to options that start from <see cref="JsonSerializerDefaults.Web"/> (ASP.NET Core's).</summary>
    public static void Configure(JsonSerializerOptions json) => json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower));

    private static JsonSerializerOptions Create()
    {
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Configure(json);
        json.MakeReadOnly(populateMissingResolver: true);
        return json;
    }
}
