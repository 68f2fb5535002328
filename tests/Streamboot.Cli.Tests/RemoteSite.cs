using System.Globalization;
using System.Net;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// A real <c>streamboot serve</c> on loopback (HTTP, HTTPS with the site's
/// own CA, NBD) whose site the command line made: a vDisk, a device, an
/// admin and a read token, an admin account; and the command line run
/// against it from elsewhere, with <c>--server</c> and the credentials in
/// the environment only, as an admin's shell on a laptop would.
/// </summary>
public sealed class RemoteSite : IAsyncLifetime
{
    public const string AdminPassword = "correct horse battery staple";

    private readonly TempFolder _imports = new("streamboot-remote-imports");
    private readonly TempFolder _secrets = new("streamboot-remote-secrets");

    public StreambootCli Local { get; } = new();

    public ServerProcess Server { get; private set; } = null!;

    /// <summary>The server's plain HTTP URL.</summary>
    public string Url { get; private set; } = "";

    /// <summary>The server's HTTPS URL, by a name its certificate carries.</summary>
    public string SecureUrl { get; private set; } = "";

    /// <summary>The site's CA, which its HTTPS certificate chains to.</summary>
    public string CaFile => Path.Combine(Local.DataFolder, "tls", "ca-cert.pem");

    public int NbdPort { get; } = Ports.Free();

    public string AdminToken { get; private set; } = "";

    public string ReadToken { get; private set; } = "";

    /// <summary>The one folder the server's API imports from (STREAMBOOT_API_IMPORT_FOLDERS).</summary>
    public string ImportFolder => _imports.Path;

    public async Task InitializeAsync()
    {
        await Local.OkAsync("vdisk", "create", "gold", "--size", "16M", "--format", "qcow2");
        await Local.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await Local.OkAsync("assign", "pc1", "gold");
        AdminToken = (await Local.OkAsync("token", "create", "ci", "--scope", "admin")).Stdout.Trim();
        ReadToken = (await Local.OkAsync("token", "create", "viewer")).Stdout.Trim();
        var passwordFile = Path.Combine(_secrets.Path, "password");
        await File.WriteAllTextAsync(passwordFile, AdminPassword + "\n");
        var http = Ports.Free();
        var https = Ports.Free();
        Url = $"http://127.0.0.1:{Text(http)}";
        SecureUrl = $"https://localhost:{Text(https)}";
        Server = ServerProcess.Start(
            [
                "--data", Local.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--https-port", Text(https),
                "--nbd-port", Text(NbdPort), "--iscsi-port", Text(Ports.Free()), "--admin-password-file", passwordFile,
            ],
            new Dictionary<string, string?> { ["STREAMBOOT_API_REQUESTS_PER_SECOND"] = "100000", ["STREAMBOOT_API_IMPORT_FOLDERS"] = ImportFolder });
        using var health = await Server.WaitForHttpAsync($"{Url}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        Assert.Equal(0, await Server.TerminateAsync(TimeSpan.FromSeconds(30)));
        await Server.DisposeAsync();
        Local.Dispose();
        _imports.Dispose();
        _secrets.Dispose();
    }

    /// <summary>
    /// <c>streamboot --server URL ARGS</c> with <paramref name="token"/> in
    /// STREAMBOOT_TOKEN (none when null), from a shell that names no local
    /// site; <paramref name="environment"/> adds to or overrides it.
    /// </summary>
    public Task<ProcessResult> RemoteAsync(string? token, string[] arguments, IReadOnlyDictionary<string, string?>? environment = null, string? url = null)
    {
        var shell = new Dictionary<string, string?>
        {
            ["STREAMBOOT_TOKEN"] = token,
            ["STREAMBOOT_USER"] = null,
            ["STREAMBOOT_PASSWORD"] = null,
            ["STREAMBOOT_SERVER"] = null,
            ["STREAMBOOT_CA"] = null,
            ["STREAMBOOT_DATA"] = null,
            ["STREAMBOOT_DB"] = null,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            shell[key] = value;
        }

        return Local.RunBareAsync(shell, ["--server", url ?? Url, .. arguments]);
    }

    /// <summary>A remote verb with the admin token that must succeed.</summary>
    public async Task<ProcessResult> AdminAsync(params string[] arguments)
    {
        var result = await RemoteAsync(AdminToken, arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>A remote verb with the admin token and <c>--json</c>.</summary>
    public async Task<JsonElement> AdminJsonAsync(params string[] arguments) =>
        JsonDocument.Parse((await AdminAsync([.. arguments, "--json"])).Stdout).RootElement;

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

[CollectionDefinition(Name)]
public sealed class RemoteSiteCollection : ICollectionFixture<RemoteSite>
{
    /// <summary>The remote tests share one server and take turns on it.</summary>
    public const string Name = "remote site";
}
