using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// A replicated store end to end (issue 12): three real <c>streamboot
/// serve</c> processes (a, b, c) on one PostgreSQL database, each with its
/// own data folder. A vDisk imported in a's folder and a version promoted
/// there reach b and c by hash-verified copies and are streamed by them
/// byte for byte (nbdcopy); a byte flipped in c's copy makes c refuse the
/// version until it has copied a good one again; the copy route refuses
/// anyone without the farm's signature.
/// </summary>
public sealed class ReplicatedStoreTests : IAsyncLifetime
{
    private static readonly TimeSpan s_start = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan s_replicate = TimeSpan.FromSeconds(90);
    private readonly StreambootCli _a = new();
    private readonly StreambootCli _b = new();
    private readonly StreambootCli _c = new();
    private readonly List<ServerProcess> _servers = [];
    private readonly HashSet<int> _ports = [];
    private string _db = "";
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var location = await cluster.CreateDatabaseAsync();
        _connectionString = location.ConnectionString;
        _db = cluster.Url(new NpgsqlConnectionStringBuilder(location.ConnectionString).Database!);
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    [Fact]
    public async Task Versions_reach_every_server_verified_and_a_corrupt_copy_is_never_served()
    {
        foreach (var tool in new[] { "nbdcopy", "nbdinfo", "qemu-io" })
        {
            Assert.True(ProcessRunner.Find(tool) is not null, $"{tool} is not installed: install libnbd-bin and qemu-utils (./test.sh installs them)");
        }

        await _a.OkAsync("--db", _db, "db", "status");
        await _a.OkAsync("--db", _db, "site", "set", "--store", "replicated");
        Assert.Equal("replicated", (await _a.JsonAsync("--db", _db, "site", "info")).GetProperty("store").GetString());

        // Known bytes, imported through the CLI in a's data folder.
        var source = Path.Combine(_a.DataFolder, "source.raw");
        var expected = new byte[8 << 20];
        new Random(12).NextBytes(expected.AsSpan(0, 3 << 20));
        await File.WriteAllBytesAsync(source, expected);
        await _a.OkAsync("--db", _db, "vdisk", "import", "gold", source);

        var a = Start(_a, "a");
        var b = Start(_b, "b");
        var c = Start(_c, "c");
        await WaitHealthyAsync(a, b, c);

        await WaitForReplicasAsync(1, ["a", "b", "c"]);
        Assert.True(File.Exists(Path.Combine(_c.DataFolder, "vdisks", "gold", "gold.1.qcow2")));
        Assert.Equal(expected, await CopyAsync(b));
        Assert.Equal(expected, await CopyAsync(c));

        // A new version made and promoted on a reaches b and c (its base was there first).
        await _a.OkAsync("--db", _db, "vdisk", "version", "new", "gold");
        await QemuImg.IoAsync("qcow2", Path.Combine(_a.DataFolder, "vdisks", "gold", "gold.2.qcow2"), "write -P 0x5a 1M 64k");
        await _a.OkAsync("--db", _db, "vdisk", "version", "promote", "gold", "--to", "production");
        expected.AsSpan(1 << 20, 65536).Fill(0x5a);
        await WaitForReplicasAsync(2, ["a", "b", "c"]);
        Assert.Equal(expected, await CopyAsync(b));
        Assert.Equal(expected, await CopyAsync(c));

        // Only c is left, and one byte of its copy of version 2 flips.
        Assert.Equal(0, await a.Value.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await b.Value.TerminateAsync(TimeSpan.FromSeconds(30)));
        var copy = Path.Combine(_c.DataFolder, "vdisks", "gold", "gold.2.qcow2");
        var flipped = FlipOneByteOfTheWrite(copy);

        var hash = await VersionHashAsync(2);
        await WaitAsync(async () =>
        {
            var replica = await ReplicaAsync(2, "c");
            return replica.GetProperty("state").GetString() != "verified" && replica.GetProperty("hashSeen").GetString() is { } seen && seen != hash;
        }, "c to find its copy of version 2 corrupt", c.Value);

        // Never served: the open is refused, naming the version and the copy's state.
        var info = await ProcessRunner.RunAsync("nbdinfo", [NbdUri(c, "gold")]);
        Assert.NotEqual(0, info.ExitCode);
        await c.Value.WaitForOutputAsync("Refused gold over nbd");
        Assert.Contains("NotReplicated", c.Value.Output, StringComparison.Ordinal);
        // libnbd shows NBD's error code only; the HTTP view says why in words.
        using (var http = new HttpClient())
        using (var answer = await http.GetAsync($"http://127.0.0.1:{c.Http}/vdisk/gold"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            var why = await answer.Content.ReadAsStringAsync();
            Assert.Matches("vDisk 'gold' version 2 is not served by this server: its copy here is (corrupt|copying)", why);
        }

        var refused = Path.Combine(_c.DataFolder, "refused.raw");
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("nbdcopy", [NbdUri(c, "gold"), refused])).ExitCode);
        Assert.False(File.Exists(refused) && new FileInfo(refused).Length > 0 && (await File.ReadAllBytesAsync(refused)).AsSpan().IndexOf(flipped) >= 0);
        var state = (await ReplicaAsync(2, "c")).GetProperty("state").GetString();
        Assert.True(state is "corrupt" or "copying", state);

        // A server that holds a good copy comes back: c copies it again and serves the right bytes.
        a = Start(_a, "a");
        await WaitHealthyAsync(a);
        await WaitForReplicasAsync(2, ["c"]);
        Assert.Equal(expected, await CopyAsync(c));
        Assert.Contains("Replica: copied vDisk gold version 2 from a", c.Value.Output, StringComparison.Ordinal);
        Assert.Contains("is out of service", c.Value.Output, StringComparison.Ordinal);

        await TheCopyRouteNeedsTheFarmSignatureAsync(c, await VersionIdAsync(2), hash);
    }

    /// <summary>GET /farm/versions/ID: 401 without a signature or with one under another secret; 400 for ids that are not plain digits; the bytes with the right one.</summary>
    private async Task TheCopyRouteNeedsTheFarmSignatureAsync((ServerProcess Value, int Http, int Nbd) server, long versionId, string hash)
    {
        using var http = new HttpClient();
        var path = $"/farm/versions/{versionId.ToString(CultureInfo.InvariantCulture)}";
        var url = $"http://127.0.0.1:{server.Http}";
        using (var bare = await http.GetAsync(url + path))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(http, url, path, RandomNumberGenerator.GetBytes(32)));
        var secret = Convert.FromHexString(await ScalarAsync<string>("SELECT farm_secret FROM site_settings WHERE id = 1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(http, url, path, secret, signedPath: path + "1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(http, url, path, secret, at: DateTimeOffset.UtcNow.AddHours(-1)));
        foreach (var bad in new[] { "/farm/versions/-1", "/farm/versions/0x10", "/farm/versions/01", "/farm/versions/99999999999999999999" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(http, url, bad, secret));
        }

        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(http, url, "/farm/versions/999999", secret));
        using var request = new HttpRequestMessage(HttpMethod.Get, url + path);
        request.Headers.TryAddWithoutValidation("Authorization", Sign(secret, path, DateTimeOffset.UtcNow));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(hash, Convert.ToHexStringLower(SHA256.HashData(await response.Content.ReadAsByteArrayAsync())));
    }

    private static async Task<HttpStatusCode> GetAsync(HttpClient http, string url, string path, byte[] secret, string? signedPath = null, DateTimeOffset? at = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url + path);
        request.Headers.TryAddWithoutValidation("Authorization", Sign(secret, signedPath ?? path, at ?? DateTimeOffset.UtcNow));
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>The farm's signature, written here from its description (Server/Farm/FarmSignature.cs), not by calling it.</summary>
    private static string Sign(byte[] secret, string path, DateTimeOffset at)
    {
        var t = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"Streamboot-Farm {t}:{Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"GET {path} {t}")))}";
    }

    /// <summary>Flips one byte of the 0x5a run version 2 wrote, in place; returns the 16 bytes around it as they now read (never to be served).</summary>
    private static byte[] FlipOneByteOfTheWrite(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var run = new byte[4096];
        run.AsSpan().Fill(0x5a);
        var at = bytes.AsSpan().IndexOf(run);
        Assert.True(at >= 0, "version 2's data cluster is not in its file");
        at += 100;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            stream.Position = at;
            stream.WriteByte(0xa5);
        }

        var pattern = new byte[16];
        pattern.AsSpan().Fill(0x5a);
        pattern[8] = 0xa5;
        // The 16 bytes a client would read around the flipped one.
        var around = File.ReadAllBytes(file).AsSpan(at - 8, 16).ToArray();
        Assert.Equal(pattern, around);
        return around;
    }

    private (ServerProcess Value, int Http, int Nbd) Start(StreambootCli cli, string name)
    {
        var http = FreePort();
        var nbd = FreePort();
        var server = ServerProcess.Start(
            ["--data", cli.DataFolder, "--db", _db, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", nbd.ToString(CultureInfo.InvariantCulture), "--server-name", name, "--tls", "off"],
            new Dictionary<string, string?> { ["STREAMBOOT_REPLICA_PASS_SECONDS"] = "1", ["STREAMBOOT_REPLICA_SCRUB_SECONDS"] = "3" });
        _servers.Add(server);
        return (server, http, nbd);
    }

    /// <summary>A free port none of this test's servers was given (the kernel may hand one out twice in a row).</summary>
    private int FreePort()
    {
        while (true)
        {
            var port = Ports.Free();
            if (_ports.Add(port))
            {
                return port;
            }
        }
    }

    private static async Task WaitHealthyAsync(params (ServerProcess Value, int Http, int Nbd)[] servers)
    {
        foreach (var s in servers)
        {
            using var health = await s.Value.WaitForHttpAsync($"http://127.0.0.1:{s.Http}/healthz", s_start);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
    }

    private async Task WaitForReplicasAsync(int version, string[] servers) =>
        await WaitAsync(
            async () =>
            {
                var hash = await VersionHashAsync(version);
                foreach (var name in servers)
                {
                    var replica = await ReplicaAsync(version, name);
                    if (replica.GetProperty("state").GetString() != "verified" || replica.GetProperty("hashSeen").GetString() != hash)
                    {
                        return false;
                    }
                }

                return true;
            },
            $"version {version} verified on {string.Join(", ", servers)}",
            [.. _servers]);

    private async Task<JsonElement> VersionAsync(int number)
    {
        var view = await _a.JsonAsync("--db", _db, "vdisk", "replicas", "gold");
        return view.GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("number").GetInt32() == number);
    }

    private async Task<string> VersionHashAsync(int number)
    {
        var hash = (await VersionAsync(number)).GetProperty("contentHash").GetString();
        Assert.NotNull(hash);
        Assert.Equal(64, hash.Length);
        return hash;
    }

    private async Task<JsonElement> ReplicaAsync(int number, string server) =>
        (await VersionAsync(number)).GetProperty("replicas").EnumerateArray().Single(r => r.GetProperty("server").GetString() == server);

    private Task<long> VersionIdAsync(int number) =>
        ScalarAsync<long>($"SELECT v.id FROM vdisk_versions v JOIN vdisks d ON d.id = v.vdisk_id WHERE d.name = 'gold' AND v.number = {number.ToString(CultureInfo.InvariantCulture)}");

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task<byte[]> CopyAsync((ServerProcess Value, int Http, int Nbd) server)
    {
        var file = Path.Combine(_a.DataFolder, $"copy-{Guid.NewGuid():N}.raw");
        var result = await ProcessRunner.RunAsync("nbdcopy", [NbdUri(server, "gold"), file]);
        Assert.True(result.ExitCode == 0, $"nbdcopy: {result}\n{server.Value.Output}");
        var bytes = await File.ReadAllBytesAsync(file);
        File.Delete(file);
        return bytes;
    }

    private static string NbdUri((ServerProcess Value, int Http, int Nbd) server, string export) => $"nbd://127.0.0.1:{server.Nbd}/{export}";

    private static async Task WaitAsync(Func<Task<bool>> done, string what, params ServerProcess[] servers)
    {
        var deadline = DateTime.UtcNow + s_replicate;
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}. Servers' output:\n{string.Join("\n-----\n", servers.Select(s => s.Output))}");
            await Task.Delay(300);
        }
    }
}
