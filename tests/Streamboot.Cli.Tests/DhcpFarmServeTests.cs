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
    private static readonly System.Text.StringBuilder s_peerOutput = new();
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
            await StartServersAsync(network, cluster.SocketConnectionString(database), servers, ["--dhcp", "full", "--dhcp-range", $"{network.Prefix}.100-{network.Prefix}.249"]);

            // 50 clients, 10 links (10 MACs) in each of 5 client hosts.
            var clients = new List<(string Namespace, string Link, string Mac)>();
            for (var h = 0; h < Clients / ClientsPerHost; h++)
            {
                var host = h;
                var (ns, links) = await network.AddClientHostAsync(ClientsPerHost, i => Mac(host, i));
                clients.AddRange(links.Select((link, i) => (ns, link, Mac(host, i))));
            }

            // One client first: both servers' first database queries are behind
            // them, as in a farm that runs.
            var (warmNs, warmLinks) = await network.AddClientHostAsync(1, _ => "02:fa:00:00:ff:00");
            var warm = await ProcessRunner.RunAsync("ip", ["netns", "exec", warmNs, udhcpc, "-i", warmLinks[0], "-f", "-q", "-n", "-t", "8", "-T", "2", "-s", "/bin/true"], timeout: TimeSpan.FromMinutes(1));
            Assert.True(warm.ExitCode == 0, $"the first client got no lease: {warm}\n{Logs(servers)}");

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
            var boundRows = rows.Where(r => r.State == "bound" && r.Mac != "02:fa:00:00:ff:00").ToList();
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

    [Fact]
    public async Task Two_proxy_mode_servers_beside_the_sites_dhcp_server_each_answer_every_pxe_discover_once_without_an_address()
    {
        var udhcpc = ProcessRunner.Find("udhcpc", "/usr/sbin", "/sbin")
            ?? throw new InvalidOperationException("udhcpc is not installed; apt-get install udhcpc (test.sh installs it)");
        var dnsmasq = ProcessRunner.Find("dnsmasq", "/usr/sbin")
            ?? throw new InvalidOperationException("dnsmasq is not installed; apt-get install dnsmasq-base (test.sh installs it)");
        var tcpdump = ProcessRunner.Find("tcpdump", "/usr/bin", "/usr/sbin")
            ?? throw new InvalidOperationException("tcpdump is not installed; apt-get install tcpdump (test.sh installs it)");
        var tshark = ProcessRunner.Find("tshark", "/usr/bin")
            ?? throw new InvalidOperationException("tshark is not installed; apt-get install tshark (test.sh installs it)");
        var cluster = await PostgresCluster.SharedAsync();
        var location = await cluster.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(location.ConnectionString).Database!;

        await using var network = await BootNetwork.CreateAsync();
        var servers = new Dictionary<string, (string Address, ServerProcess Process)>();
        var peers = new List<Process>();
        try
        {
            // The site's own DHCP server hands out the addresses.
            var site = await network.AddHostAsync($"{network.Prefix}.2");
            peers.Add(Start("ip", "netns", "exec", site, dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=0", "--interface=eth0",
                "--bind-interfaces", $"--dhcp-range={network.Prefix}.100,{network.Prefix}.199,255.255.255.0,1h", $"--dhcp-leasefile={_folder.Combine("dnsmasq.leases")}", "--log-dhcp", "--log-facility=-"));
            await StartServersAsync(network, cluster.SocketConnectionString(database), servers, ["--dhcp", "proxy"], firstHost: 3);

            var capture = _folder.Combine("proxy.pcap");
            var tcpdumpProcess = Start("ip", "netns", "exec", network.Name, tcpdump, "-i", network.Bridge, "-U", "-n", "-w", capture, "udp port 67 or udp port 68");
            peers.Add(tcpdumpProcess);
            await Task.Delay(1000);

            var (ns, links) = await network.AddClientHostAsync(5, i => Mac(9, i));
            await Task.WhenAll(links.Select(link => ProcessRunner.RunAsync(
                "ip",
                ["netns", "exec", ns, udhcpc, "-i", link, "-f", "-q", "-n", "-t", "3", "-T", "2", "-s", "/bin/true", "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
                timeout: TimeSpan.FromMinutes(1))));
            await Task.Delay(500);
            tcpdumpProcess.Kill();
            await tcpdumpProcess.WaitForExitAsync();

            // Read the wire with tshark: every DISCOVER, and who offered what to it.
            var decoded = await ProcessRunner.RunAsync(tshark, ["-r", capture, "-Y", "dhcp", "-T", "fields", "-E", "separator=|", "-e", "dhcp.id", "-e", "dhcp.option.dhcp", "-e", "dhcp.option.dhcp_server_id", "-e", "dhcp.ip.your", "-e", "dhcp.file"]);
            Assert.True(decoded.ExitCode == 0, decoded.ToString());
            var packets = decoded.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
            var discovers = packets.Where(p => p[1] == "1").GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(discovers.Count >= links.Count, $"{decoded.Stdout}\n--- dnsmasq and tcpdump\n{s_peerOutput}");
            foreach (var (xid, sent) in discovers)
            {
                foreach (var (name, (address, _)) in servers)
                {
                    // Once per DISCOVER (udhcpc repeats its xid), with no address and the boot file.
                    var offers = packets.Where(p => p[0] == xid && p[1] == "2" && p[2] == address).ToList();
                    Assert.True(offers.Count == sent, $"server {name} sent {offers.Count} offers for {sent} DISCOVERs with xid {xid}:\n{decoded.Stdout}");
                    Assert.All(offers, o => Assert.Equal(("0.0.0.0", "undionly.kpxe"), (o[3], o[4])));
                }
            }

            // Nothing else from the proxies on port 67: udhcpc, being no PXE ROM, takes
            // the first offer and asks a proxy for 0.0.0.0, which is not a proxy's to grant.
            var proxyAddresses = servers.Values.Select(v => v.Address).ToHashSet();
            Assert.DoesNotContain(packets, p => proxyAddresses.Contains(p[2]) && (p[1] == "5" || p[1] == "6"));
            Assert.Empty(await LeaseRowsAsync(cluster.ConnectionString(database)));
            foreach (var (_, (_, process)) in servers)
            {
                Assert.Equal(0, await process.TerminateAsync(TimeSpan.FromSeconds(60)));
            }
        }
        finally
        {
            foreach (var peer in peers)
            {
                if (!peer.HasExited)
                {
                    peer.Kill();
                    await peer.WaitForExitAsync();
                }

                peer.Dispose();
            }

            foreach (var (_, (_, process)) in servers)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>Servers a, b, ... each in its own namespace on the bridge at .firstHost, .firstHost+1, ..., on one database; returns once each DHCP listens.</summary>
    private async Task StartServersAsync(BootNetwork network, string db, Dictionary<string, (string Address, ServerProcess Process)> servers, string[] dhcp, int firstHost = 2)
    {
        foreach (var (name, host) in new[] { ("a", firstHost), ("b", firstHost + 1) })
        {
            var address = $"{network.Prefix}.{host}";
            var ns = await network.AddHostAsync(address);
            var data = _folder.Combine("data-" + name);
            Directory.CreateDirectory(data);
            servers[name] = (address, ServerProcess.StartIn(
                ns,
                ["--data", data, "--db", db, "--server-name", name, "--bind", "0.0.0.0", "--dhcp-interface", "eth0", .. dhcp],
                new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = "0", ["STREAMBOOT_ISCSI_PORT"] = "0" }));
        }

        foreach (var (_, (address, process)) in servers)
        {
            await process.WaitForOutputAsync($"listening on eth0 as {address}", TimeSpan.FromMinutes(2));
        }
    }

    private static Process Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        process.OutputDataReceived += (_, e) => { lock (s_peerOutput) { s_peerOutput.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (s_peerOutput) { s_peerOutput.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
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
