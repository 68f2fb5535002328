using Npgsql;
using Streamboot.Data;

namespace Streamboot.Testing;

/// <summary>
/// A throwaway PostgreSQL server for the tests: initdb into a temporary
/// folder, listening on a free loopback port, stopped when the test process
/// exits. Each test gets a database of its own. PostgreSQL refuses to run as
/// root, so as root the server runs as the 'postgres' user the package made.
/// A missing PostgreSQL is a failure with instructions, never a skip.
/// </summary>
public sealed class PostgresCluster
{
    private static readonly Lazy<Task<PostgresCluster>> s_shared = new(StartAsync);
    private readonly string _folder;
    private readonly string _bin;
    private readonly bool _asPostgresUser;

    private PostgresCluster(string folder, string bin, int port, bool asPostgresUser)
    {
        _folder = folder;
        _bin = bin;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    public int Port { get; }

    public static Task<PostgresCluster> SharedAsync() => s_shared.Value;

    /// <summary>
    /// A server of the caller's own, for a test that stops and starts it (a
    /// database outage); thrown away when the test process exits.
    /// </summary>
    public static Task<PostgresCluster> StartOwnAsync() => StartAsync();

    /// <summary>Stops the server as an outage would (fast shutdown: connections cut, nothing lost).</summary>
    public Task StopAsync() => RunPgAsync("pg_ctl", ["-D", DataPath, "-m", "fast", "-w", "stop"]);

    /// <summary>Starts it again on the same port and socket after <see cref="StopAsync"/>.</summary>
    public Task StartAgainAsync() => RunPgAsync("pg_ctl", StartArguments(_folder, Port));

    private string DataPath => Path.Combine(_folder, "data");

    private static string[] StartArguments(string folder, int port) =>
    [
        "-D", Path.Combine(folder, "data"), "-w", "-t", "60", "-l", Path.Combine(folder, "server.log"),
        "-o", $"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        "start",
    ];

    /// <summary>A new empty database on the shared server.</summary>
    public async Task<DatabaseLocation> CreateDatabaseAsync()
    {
        var name = $"t_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new DatabaseLocation(DatabaseProvider.PostgreSql, ConnectionString(name));
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "streamboot", Database = database, Pooling = true }.ConnectionString;

    /// <summary>
    /// The same database through the server's Unix socket: it is a file, so
    /// processes in other network namespaces (the servers of a farm test)
    /// reach it as well as this one does.
    /// </summary>
    public string SocketConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = _folder, Port = Port, Username = "streamboot", Database = database, Pooling = true }.ConnectionString;

    /// <summary>The database's name in a connection string <see cref="CreateDatabaseAsync"/> returned.</summary>
    public static string DatabaseOf(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Database!;

    public string Url(string database) => $"postgresql://streamboot@127.0.0.1:{Port}/{database}";

    private static async Task<PostgresCluster> StartAsync()
    {
        var bin = FindBin() ?? throw new InvalidOperationException(
            "PostgreSQL server programs (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin: install Debian's 'postgresql' package (./test.sh installs it)");
        var asPostgresUser = Environment.UserName == "root";
        var folder = Path.Combine(Path.GetTempPath(), $"streamboot-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        if (asPostgresUser)
        {
            await RunAsync("chown", ["postgres:postgres", folder]);
        }

        var port = Ports.Free();
        var cluster = new PostgresCluster(folder, bin, port, asPostgresUser);
        var data = Path.Combine(folder, "data");
        await cluster.RunPgAsync("initdb", ["-D", data, "-U", "streamboot", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        await cluster.RunPgAsync("pg_ctl", StartArguments(folder, port));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            // Immediate stop: the data is thrown away with the folder. (A test may have stopped it already.)
            try
            {
                cluster.RunPgAsync("pg_ctl", ["-D", data, "-m", "immediate", "stop"]).GetAwaiter().GetResult();
            }
            catch (InvalidOperationException)
            {
            }

            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return cluster;
    }

    private Task RunPgAsync(string program, string[] arguments) =>
        _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, program), .. arguments])
            : RunAsync(Path.Combine(_bin, program), arguments);

    private static async Task RunAsync(string program, string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(program, arguments, timeout: TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {result}");
        }
    }

    private static string? FindBin()
    {
        const string Root = "/usr/lib/postgresql";
        if (!Directory.Exists(Root))
        {
            return null;
        }

        return Directory.GetDirectories(Root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            .OrderByDescending(d => d, StringComparer.Ordinal)
            .FirstOrDefault();
    }
}
