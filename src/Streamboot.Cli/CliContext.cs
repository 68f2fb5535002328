using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Streamboot.Admin;
using Streamboot.Cli.Output;
using Streamboot.Data;
using Streamboot.Server.Configuration;

namespace Streamboot.Cli;

/// <summary>
/// What a verb needs before it can act: the configuration resolved from
/// files, environment and flags; the data folder, checked writable; and the
/// site database, opened and migrated. Failures here are one clear line.
/// </summary>
public sealed class CliContext
{
    private CliContext(IConfigurationRoot configuration, StreambootOptions options, string dataFolder, DatabaseLocation location, CliOutput output)
    {
        Configuration = configuration;
        Options = options;
        DataFolder = dataFolder;
        Location = location;
        Output = output;
    }

    public IConfigurationRoot Configuration { get; }

    public StreambootOptions Options { get; }

    public string DataFolder { get; }

    public DatabaseLocation Location { get; }

    public CliOutput Output { get; }

    /// <summary>Resolves configuration; null (after printing why) when it is unusable.</summary>
    public static CliContext? Resolve(ParseResult parse, IReadOnlyDictionary<string, string?>? extraFlags, out int exitCode)
    {
        exitCode = ExitCodes.Ok;
        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (parse.GetValue(GlobalOptions.Data) is { } data)
        {
            flags["Data"] = data;
        }

        if (parse.GetValue(GlobalOptions.Db) is { } db)
        {
            flags["Db"] = db;
        }

        foreach (var (key, value) in extraFlags ?? new Dictionary<string, string?>())
        {
            flags[key] = value;
        }

        IConfigurationRoot configuration;
        StreambootOptions options;
        try
        {
            configuration = StreambootConfiguration.Build(flags);
            options = StreambootConfiguration.Bind(configuration);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            // A malformed appsettings.json or a value of the wrong type (STREAMBOOT_HTTP_PORT=abc).
            exitCode = CliOutput.Usage($"configuration is not valid: {e.Message}");
            return null;
        }

        var folder = Path.GetFullPath(string.IsNullOrWhiteSpace(options.Data) ? Server.Configuration.DataFolder.Default() : options.Data);
        DatabaseLocation location;
        if (string.IsNullOrWhiteSpace(options.Db))
        {
            location = DatabaseLocation.InDataFolder(folder);
        }
        else if (!DatabaseLocation.TryParse(options.Db, out location!, out var dbError))
        {
            exitCode = CliOutput.Usage(dbError);
            return null;
        }

        if (!Server.Configuration.DataFolder.TryPrepare(folder, out var folderError))
        {
            CliOutput.Fail(folderError);
            exitCode = ExitCodes.Failure;
            return null;
        }

        return new CliContext(configuration, options, folder, location, new CliOutput(parse.GetValue(GlobalOptions.Json)));
    }

    public async Task<SiteDatabase?> OpenDatabaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await SiteDatabase.OpenAsync(Location, cancellationToken: cancellationToken);
        }
        catch (DatabaseOpenException e)
        {
            CliOutput.Fail($"{e.Message}; check --db / STREAMBOOT_DB, or that the data folder is the right one");
            return null;
        }
    }

    /// <summary>Runs an admin verb against the opened site: resolve, open, act.</summary>
    public static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken, Func<AdminSite, CliOutput, Task<int>> action) =>
        RunAsync(parse, cancellationToken, (_, site, output) => action(site, output));

    /// <summary>The same, for verbs that also need the resolved settings (ports, the data folder).</summary>
    public static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken, Func<CliContext, AdminSite, CliOutput, Task<int>> action)
    {
        var context = Resolve(parse, null, out var exitCode);
        if (context is null)
        {
            return exitCode;
        }

        var database = await context.OpenDatabaseAsync(cancellationToken);
        if (database is null)
        {
            return ExitCodes.Failure;
        }

        var site = new AdminSite(database, context.DataFolder, AdminSite.CurrentActor());
        try
        {
            return await action(context, site, context.Output);
        }
        catch (System.Data.Common.DbException e)
        {
            CliOutput.Fail($"database error ({database.Location.Describe()}): {e.Message}");
            return ExitCodes.Failure;
        }
        catch (Microsoft.EntityFrameworkCore.DbUpdateException e)
        {
            CliOutput.Fail($"database error ({database.Location.Describe()}): {e.InnerException?.Message ?? e.Message}");
            return ExitCodes.Failure;
        }
    }
}
