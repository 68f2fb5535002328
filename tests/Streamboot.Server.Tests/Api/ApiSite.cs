using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Api;

/// <summary>
/// A real <c>streamboot serve</c> on loopback with a vDisk and two tokens
/// made by the command line (one read, one admin), for the admin API tests.
/// </summary>
public class ApiSite : IAsyncLifetime
{
    private readonly StreambootCli _cli = new();

    public ServerProcess Server { get; private set; } = null!;

    public StreambootCli Cli => _cli;

    public string Base { get; private set; } = "";

    public string AdminToken { get; private set; } = "";

    public string ReadToken { get; private set; } = "";

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    public int NbdPort { get; } = Ports.Free();

    private readonly TempFolder _imports = new("streamboot-api-imports");

    /// <summary>The one folder this server's API may import from (STREAMBOOT_API_IMPORT_FOLDERS); make images in it with <c>new TempFolder(prefix, ImportFolder)</c>.</summary>
    public string ImportFolder => _imports.Path;

    /// <summary>Settings of the server beyond the fixture's own (a test class's limits).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "16M", "--format", "qcow2");
        AdminToken = (await _cli.OkAsync("token", "create", "ci", "--scope", "admin")).Stdout.Trim();
        ReadToken = (await _cli.OkAsync("token", "create", "viewer")).Stdout.Trim();
        var http = Ports.Free();
        Base = $"http://127.0.0.1:{http}";
        var environment = new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = "0", ["STREAMBOOT_API_REQUESTS_PER_SECOND"] = "100000", ["STREAMBOOT_API_IMPORT_FOLDERS"] = ImportFolder };
        foreach (var (key, value) in Settings)
        {
            environment[key] = value;
        }

        Server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--nbd-port", Text(NbdPort), "--iscsi-port", Text(Ports.Free())],
            environment);
        using var health = await Server.WaitForHttpAsync($"{Base}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.TerminateAsync(TimeSpan.FromSeconds(30));
        await Server.DisposeAsync();
        _cli.Dispose();
        _imports.Dispose();
    }

    /// <summary>A request to <c>/api/v1/PATH</c> with the token (none when null) and a JSON body (when given).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? token, object? body = null, string? rawBody = null)
    {
        using var request = new HttpRequestMessage(method, $"{Base}/api/v1/{path.TrimStart('/')}");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (rawBody is not null)
        {
            request.Content = new StringContent(rawBody, Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, json, response);
    }

    /// <summary>Every (method, path) of the API in its OpenAPI document, with {parameters} filled in.</summary>
    public async Task<List<(HttpMethod Method, string Path)>> RoutesAsync()
    {
        var document = JsonDocument.Parse(await Http.GetStringAsync($"{Base}/openapi/v1.json")).RootElement;
        var routes = new List<(HttpMethod, string)>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var filled = path.Name.Replace("{key}", "PC-404", StringComparison.Ordinal).Replace("{name}", "nothing", StringComparison.Ordinal).Replace("{vdisk}", "gold", StringComparison.Ordinal)
                    .Replace("{id}", "0123456789abcdef0123456789abcdef", StringComparison.Ordinal);
                routes.Add((HttpMethod.Parse(operation.Name.ToUpperInvariant()), filled.Replace("/api/v1/", "", StringComparison.Ordinal)));
            }
        }

        return routes;
    }

    /// <summary>Polls an operation (its <c>Location</c>) until it is no longer running, for at most two minutes.</summary>
    public async Task<JsonElement> WaitForOperationAsync(string location)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var (status, operation, _) = await SendAsync(HttpMethod.Get, location.Replace("/api/v1/", "", StringComparison.Ordinal), ReadToken);
            Assert.Equal(HttpStatusCode.OK, status);
            if (operation.GetProperty("state").GetString() != "running")
            {
                return operation;
            }

            Assert.True(DateTime.UtcNow < deadline, $"operation {location} still runs after two minutes");
            await Task.Delay(100);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
