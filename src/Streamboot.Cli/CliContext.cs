using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
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
    private CliContext(IConfigurationRoot configuration, StreambootOptions options, string dataFolder, DatabaseLocation location, CliOutput output, SiteUse use, bool dbGiven)
    {
        Configuration = configuration;
        Options = options;
        DataFolder = dataFolder;
        Location = location;
        Output = output;
        Use = use;
        DbGiven = dbGiven;
    }

    public IConfigurationRoot Configuration { get; }

    public StreambootOptions Options { get; }

    public string DataFolder { get; }

    public DatabaseLocation Location { get; }

    public CliOutput Output { get; }

    public SiteUse Use { get; }

    /// <summary>The database was named (--db, STREAMBOOT_DB), not the data folder's own.</summary>
    private bool DbGiven { get; }

    /// <summary>Resolves configuration; null (after printing why) when it is unusable, or when <paramref name="use"/> needs a site that is not there.</summary>
    public static CliContext? Resolve(ParseResult parse, IReadOnlyDictionary<string, string?>? extraFlags, out int exitCode, SiteUse use = SiteUse.Existing)
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
        catch (UnauthorizedAccessException e)
        {
            // The package's /etc/streamboot/appsettings.json is root:streamboot 0640 (a Db may hold a password).
            CliOutput.Fail($"cannot read the settings: {e.Message} Run as root or as the service's user (sudo -u streamboot streamboot ...), or let this user read the file");
            exitCode = ExitCodes.Failure;
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

        var dbGiven = !string.IsNullOrWhiteSpace(options.Db);
        if (use == SiteUse.Existing && !dbGiven && !Directory.Exists(folder))
        {
            CliOutput.Fail(NoSite($"no data folder {folder}", "--data / STREAMBOOT_DATA"));
            exitCode = ExitCodes.Failure;
            return null;
        }

        if (use != SiteUse.None && !Server.Configuration.DataFolder.TryPrepare(folder, out var folderError))
        {
            CliOutput.Fail(folderError);
            exitCode = ExitCodes.Failure;
            return null;
        }

        return new CliContext(configuration, options, folder, location, new CliOutput(parse.GetValue(GlobalOptions.Json)), use, dbGiven);
    }

    /// <summary>One line for a verb that needs a site where there is none: what is missing, which setting to check, what makes one.</summary>
    private static string NoSite(string what, string setting) =>
        $"no Streamboot site here ({what}); check {setting}, or make one: 'streamboot db status' makes an empty site, as does adding anything ('streamboot vdisk create NAME --size 20G') or starting 'streamboot serve'";

    /// <summary>The Admin layer on the opened database, as whoever runs this command, with this machine's farm settings.</summary>
    public AdminSite AdminSiteOf(SiteDatabase database) => new(database, DataFolder, AdminSite.CurrentActor()) { Farm = Options.Farm() };

    public async Task<SiteDatabase?> OpenDatabaseAsync(CancellationToken cancellationToken)
    {
        var exists = await SiteDatabase.ExistsAsync(Location, cancellationToken);
        if (!exists && Use == SiteUse.Existing)
        {
            CliOutput.Fail(NoSite($"no database {Location.Describe()}", DbGiven ? "--db / STREAMBOOT_DB" : "--data / STREAMBOOT_DATA"));
            return null;
        }

        try
        {
            var database = await SiteDatabase.OpenAsync(Location, cancellationToken: cancellationToken);
            if (!exists)
            {
                // A typo in --data or --db makes a new site: say so, where it cannot be missed or mix with --json.
                System.Console.Error.WriteLine($"streamboot: note: made a new site: {Location.Describe()}");
            }

            return database;
        }
        catch (DatabaseOpenException e)
        {
            CliOutput.Fail($"{e.Message}; check --db / STREAMBOOT_DB, or that the data folder is the right one");
            return null;
        }
    }

    /// <summary>
    /// Runs an admin verb against the existing site: this machine's (its
    /// database opened) or, with <c>--server</c>, a remote one through its API.
    /// The verb is the same code either way (<see cref="ISiteAdmin"/>).
    /// </summary>
    public static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken, Func<ISiteAdmin, CliOutput, Task<int>> action) =>
        RunSiteAsync(parse, cancellationToken, SiteUse.Existing, action);

    /// <summary>The same for a verb that adds something: a local site is made when there is none.</summary>
    public static Task<int> RunCreatingAsync(ParseResult parse, CancellationToken cancellationToken, Func<ISiteAdmin, CliOutput, Task<int>> action) =>
        RunSiteAsync(parse, cancellationToken, SiteUse.CreateIfMissing, action);

    /// <summary>
    /// Runs a verb that works on this machine's site only (it needs its files
    /// or its terminal); with a remote site named, it is refused with
    /// <paramref name="why"/> and what to do instead.
    /// </summary>
    public static Task<int> RunLocalAsync(ParseResult parse, CancellationToken cancellationToken, string verb, string why, SiteUse use, Func<CliContext, AdminSite, CliOutput, Task<int>> action) =>
        RemoteTarget.RefuseFor(parse, verb, why) is { } refused ? Task.FromResult(refused) : RunOnDatabaseAsync(parse, cancellationToken, use, action);

    private static async Task<int> RunSiteAsync(ParseResult parse, CancellationToken cancellationToken, SiteUse use, Func<ISiteAdmin, CliOutput, Task<int>> action)
    {
        var remote = RemoteTarget.Resolve(parse, out var exitCode);
        if (exitCode != ExitCodes.Ok)
        {
            return exitCode;
        }

        if (remote is null)
        {
            return await RunOnDatabaseAsync(parse, cancellationToken, use, async (_, site, output) =>
            {
                await using var local = new LocalSite(site);
                return await action(local, output);
            });
        }

        await using var server = new Remote.RemoteSite(remote);
        return await action(server, new CliOutput(parse.GetValue(GlobalOptions.Json)));
    }

    private static async Task<int> RunOnDatabaseAsync(ParseResult parse, CancellationToken cancellationToken, SiteUse use, Func<CliContext, AdminSite, CliOutput, Task<int>> action)
    {
        var context = Resolve(parse, null, out var exitCode, use);
        if (context is null)
        {
            return exitCode;
        }

        var database = await context.OpenDatabaseAsync(cancellationToken);
        if (database is null)
        {
            return ExitCodes.Failure;
        }

        var site = context.AdminSiteOf(database);
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
