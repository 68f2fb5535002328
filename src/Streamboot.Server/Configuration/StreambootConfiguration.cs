using System.Collections;
using Microsoft.Extensions.Configuration;

namespace Streamboot.Server.Configuration;

/// <summary>Builds the layered configuration every command reads, the server and the admin verbs alike.</summary>
public static class StreambootConfiguration
{
    public const string EnvironmentPrefix = "STREAMBOOT_";
    public const string SystemConfigFile = "/etc/streamboot/appsettings.json";

    /// <summary>
    /// <paramref name="flags"/> are keys under the Streamboot section set on
    /// the command line (<c>Data</c>, <c>Db</c>, <c>HttpPort</c>...), which win.
    /// </summary>
    public static IConfigurationRoot Build(IReadOnlyDictionary<string, string?> flags, string? systemConfigFile = SystemConfigFile)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false);
        if (systemConfigFile is not null)
        {
            builder.AddJsonFile(systemConfigFile, optional: true, reloadOnChange: false);
        }

        builder.AddInMemoryCollection(FromEnvironment());
        builder.AddInMemoryCollection(flags.Select(kv => KeyValuePair.Create($"{StreambootOptions.Section}:{kv.Key}", kv.Value)));
        return builder.Build();
    }

    public static StreambootOptions Bind(IConfiguration configuration)
    {
        var options = new StreambootOptions();
        configuration.GetSection(StreambootOptions.Section).Bind(options);
        return options;
    }

    /// <summary>
    /// <c>STREAMBOOT_HTTP_PORT=8081</c> sets <c>Streamboot:HttpPort</c>: the
    /// underscores of the shell spelling are dropped and keys compare without
    /// case, so every option has its obvious environment name.
    /// </summary>
    private static IEnumerable<KeyValuePair<string, string?>> FromEnvironment()
    {
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (name.StartsWith(EnvironmentPrefix, StringComparison.Ordinal) && name.Length > EnvironmentPrefix.Length && name[EnvironmentPrefix.Length] != '_')
            {
                var key = name[EnvironmentPrefix.Length..].Replace("_", "", StringComparison.Ordinal);
                yield return KeyValuePair.Create($"{StreambootOptions.Section}:{key}", (string?)entry.Value);
            }
        }
    }
}
