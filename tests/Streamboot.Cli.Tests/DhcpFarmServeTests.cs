using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Cli.Tests;

/// <summary>
/// Two <c>streamboot serve --dhcp full</c> of one site (one PostgreSQL
/// database) on one boot network, each in its own network namespace on one
/// bridge, and 50 busybox udhcpc clients asking at once: every client takes
/// the first offer it hears, and no address goes to two clients.
/// </summary>
public sealed partial class DhcpFarmServeTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 50;
    private const int ClientsPerHost = 10;
    private readonly TempFolder _folder = new("dhcp-farm");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Two_full_mode_servers_on_one_database_give_50_clients_50_distinct_addresses()
    {
        var udhcpc = ProcessRunner.Find("udhcpc", "/usr/sbin", "/sbin")
            ?? throw new InvalidOperationException("udhcpc is not installed; apt-get install udhcpc (test.sh installs it)");
        var cluster = await PostgresCluster.SharedAsync();
        var location = await cluster.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(location.ConnectionString).Database!;

        await using var network = await BootNetwork.CreateAsync();
        var servers = new Dictionary<string, (string Address, ServerProcess Process)>();
        try
        {
            foreach (var (name, host) in new[] { ("a", 2), ("b", 3) })
            {
                var address = $"{network.Prefix}.{host}";
                var ns = await network.AddHostAsync(address);
                var data = _folder.Combine("data-" + name);
                Directory.CreateDirectory(data);
                var process = ServerProcess.StartIn(
                    ns,
                    ["--data", data, "--db", cluster.SocketConnectionString(database), "--server-name", name, "--bind", "0.0.0.0",
                     "--dhcp", "full", "--dhcp-interface", "eth0", "--dhcp-range", $"{network.Prefix}.100-{network.Prefix}.249"],
                    new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = "0", ["STREAMBOOT_ISCSI_PORT"] = "0" });
                servers[name] = (address, process);
            }

            foreach (var (name, (address, process)) in servers)
            {
                await process.WaitForOutputAsync($"listening on eth0 as {address}", TimeSpan.FromMinutes(2));
            }

            // 50 clients, 10 links (10 MACs) in each of 5 client hosts.
            var clients = new List<(string Namespace, string Link, string Mac)>();
            for (var h = 0; h < Clients / ClientsPerHost; h++)
            {
                var host = h;
                var (ns, links) = await network.AddClientHostAsync(ClientsPerHost, i => Mac(host, i));
                clients.AddRange(links.Select((link, i) => (ns, link, Mac(host, i))));
            }

            var clock = Stopwatch.StartNew();
            var runs = clients.Select(async c =>
            {
                var events = _folder.Combine($"{c.Namespace}-{c.Link}.events");
                var script = _folder.Combine($"{c.Namespace}-{c.Link}.sh");
                await File.WriteAllTextAsync(script, $"#!/bin/sh\necho \"$1 $ip $serverid\" >> '{events}'\n");
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                // A PXE BIOS ROM's vendor class and architecture; one lease, then exit.
                var result = await ProcessRunner.RunAsync(
                    "ip",
                    ["netns", "exec", c.Namespace, udhcpc, "-i", c.Link, "-f", "-q", "-n", "-t", "8", "-T", "2", "-s", script,
                     "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
                    timeout: TimeSpan.FromMinutes(2));
                var elapsed = clock.Elapsed;
                var bound = File.Exists(events) ? File.ReadAllLines(events).LastOrDefault(l => l.StartsWith("bound ", StringComparison.Ordinal)) : null;
                Assert.True(result.ExitCode == 0 && bound is not null, $"udhcpc on {c.Link} ({c.Mac}) got no lease: {result}\n{Logs(servers)}");
                var parts = bound.Split(' ');
                return (c.Mac, Address: parts[1], ServerId: parts[2], Elapsed: elapsed);
            }).ToList();
            var leases = await Task.WhenAll(runs);
            clock.Stop();

            // No address given twice; each client's address is its lease in the site database.
            var duplicates = leases.GroupBy(l => l.Address).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(l => l.Mac))}").ToList();
            Assert.True(duplicates.Count == 0, $"addresses given to two clients: {string.Join("; ", duplicates)}\n{Logs(servers)}");
            Assert.Equal(Clients, leases.Select(l => l.Address).Distinct().Count());

            var rows = await LeaseRowsAsync(cluster.ConnectionString(database));
            var boundRows = rows.Where(r => r.State == "bound").ToList();
            Assert.Equal(Clients, boundRows.Count);
            Assert.Equal(Clients, boundRows.Select(r => r.Mac).Distinct().Count());
            var byAddress = servers.ToDictionary(s => s.Value.Address, s => s.Key);
            foreach (var lease in leases)
            {
                var row = Assert.Single(boundRows, r => r.Address == lease.Address);
                Assert.Equal(lease.Mac, row.Mac);
                // The server that ACKed (its option 54) is the one that wrote the lease.
                Assert.True(byAddress.TryGetValue(lease.ServerId, out var server), $"option 54 {lease.ServerId} is no server's address");
                Assert.Equal(server, row.Server);
            }

            // Both servers answered: each offered (every client hears both and
            // takes the first offer, so which one binds more is a matter of speed).
            var perServer = leases.GroupBy(l => l.ServerId).ToDictionary(g => g.Key, g => g.Count());
            foreach (var (name, (_, process)) in servers)
            {
                Assert.Equal(0, await process.TerminateAsync(TimeSpan.FromSeconds(60)));
                var counters = StoppedLine().Match(process.Output);
                Assert.True(counters.Success, process.Output);
                Assert.True(int.Parse(counters.Groups["offers"].Value, CultureInfo.InvariantCulture) > 0, $"server {name} offered nothing: {counters.Value}");
            }

            output.WriteLine($"{Clients} clients bound in {clock.Elapsed.TotalSeconds:F2} s (median {leases.Select(l => l.Elapsed.TotalSeconds).Order().ElementAt(Clients / 2):F2} s)");
            foreach (var (name, (address, process)) in servers)
            {
                output.WriteLine($"server {name} ({address}): {perServer.GetValueOrDefault(address)} clients bound; {StoppedLine().Match(process.Output).Value}");
            }
        }
        finally
        {
            foreach (var (_, (_, process)) in servers)
            {
                await process.DisposeAsync();
            }
        }
    }

    private static string Mac(int host, int link) => string.Create(CultureInfo.InvariantCulture, $"02:fa:00:00:{host:x2}:{link:x2}");

    private static async Task<List<(string Address, string Mac, string State, string? Server)>> LeaseRowsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT l.address, l.mac, l.state, s.name FROM dhcp_leases l LEFT JOIN servers s ON s.id = l.server_id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, string, string?)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }

    private static string Logs(Dictionary<string, (string Address, ServerProcess Process)> servers) =>
        string.Join("\n", servers.Select(s => $"--- server {s.Key}\n{s.Value.Process.Output}"));

    [GeneratedRegex(@"DHCP server on eth0 stopped: received \d+, Offer (?<offers>\d+)[^\n]*")]
    private static partial Regex StoppedLine();
}
