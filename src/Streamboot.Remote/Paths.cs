using System.Globalization;

namespace Streamboot.Remote;

/// <summary>The API's paths, with names escaped as path segments and query values (a MAC's colons, a name a user typed).</summary>
internal static class Paths
{
    public static string Of(string collection, params string[] segments) =>
        Api.Contracts.ApiPaths.Prefix + "/" + collection + string.Concat(segments.Select(s => "/" + Uri.EscapeDataString(s)));

    public static string Query(string path, params (string Name, object? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null and not false).Select(p => $"{p.Name}={Uri.EscapeDataString(Text(p.Value!))}").ToList();
        return given.Count == 0 ? path : path + "?" + string.Join('&', given);
    }

    private static string Text(object value) => value switch
    {
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
