namespace Streamboot.Api.Contracts;

/// <summary>Where the admin API lives on a server's HTTP port.</summary>
public static class ApiPaths
{
    public const string Prefix = "/api/v1";

    /// <summary>A long operation's resource, polled until it finishes.</summary>
    public static string Operation(string id) => $"{Prefix}/operations/{id}";
}
