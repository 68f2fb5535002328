using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Server.Tests.Security;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Metrics;

/// <summary>
/// <c>/metrics</c> of a real <c>streamboot serve</c>: real clients of every
/// protocol move its counters by what they did, every scrape passes
/// <c>promtool check metrics</c>, a client outside <c>--metrics-allow</c>
/// gets 403, and the Grafana dashboard in deploy/ asks only for series the
/// server exports.
/// </summary>
public sealed partial class MetricsTests(MetricsSite site) : IClassFixture<MetricsSite>
{
    private const string Bytes = "streamboot_io_bytes_total";
    private const string Requests = "streamboot_requests_total";

    [Fact]
    public async Task Real_clients_of_every_protocol_move_its_counters_by_what_they_did()
    {
        var before = await site.ScrapeAsync();
        await site.TrafficAsync();
        var after = await site.ScrapeAsync();
        double Delta(string name, params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);

        // nbdcopy read pc1's whole disk: at least its bytes, in requests that each got a latency.
        Assert.True(Delta(Bytes, ("protocol", "nbd"), ("direction", "read")) >= MetricsSite.DiskBytes, $"NBD read bytes moved {Delta(Bytes, ("protocol", "nbd"), ("direction", "read"))}");
        var nbdRequests = Delta(Requests, ("protocol", "nbd"));
        var nbdLatencies = Delta("streamboot_nbd_request_duration_seconds_count");
        Assert.True(nbdRequests >= 2 && nbdLatencies >= 1 && nbdLatencies <= nbdRequests, $"NBD requests {nbdRequests}, latencies {nbdLatencies}");
        Assert.Equal(nbdLatencies, Delta("streamboot_nbd_request_duration_seconds_bucket", ("le", "+Inf")));

        // curl's 1 MiB range and its boot-script request; the boot file over TFTP, and a file refused.
        Assert.True(Delta(Bytes, ("protocol", "http"), ("direction", "read")) >= MetricsSite.RangeBytes);
        Assert.True(Delta(Requests, ("protocol", "http")) >= 3, "boot script, range and scrape are HTTP requests");
        Assert.True(Delta(Bytes, ("protocol", "tftp"), ("direction", "read")) >= site.BootFile.Length);
        Assert.Equal(1, Delta("streamboot_tftp_transfers_total", ("outcome", "completed")));
        Assert.Equal(2, Delta(Requests, ("protocol", "tftp"))); // the boot file and the file it does not have
        Assert.Equal(1, Delta("streamboot_refusals_total", ("protocol", "tftp"), ("reason", "not_found")));

        // qemu-io's 1 MiB over iSCSI, and iscsi-inq's unknown VPD page answered ILLEGAL REQUEST.
        Assert.True(Delta(Bytes, ("protocol", "iscsi"), ("direction", "read")) >= MetricsSite.RangeBytes);
        Assert.True(Delta(Requests, ("protocol", "iscsi")) >= 2);
        Assert.True(Delta("streamboot_iscsi_request_duration_seconds_count") >= 2);
        Assert.True(Delta("streamboot_errors_total", ("protocol", "iscsi"), ("error", "illegal_request")) >= 1, after.Text);

        // The boot script issued a boot; nbdcopy's first open started it.
        Assert.Equal(1, Delta("streamboot_boots_issued_total"));
        Assert.Equal(1, Delta("streamboot_boot_scripts_total", ("outcome", "boot")));
        Assert.Equal(1, Delta("streamboot_boots_started_total"));
        Assert.Equal(1, Delta("streamboot_boot_time_to_disk_seconds_count"));
        // nbdcopy's NBD connection is how an OS connects its root: the boot's whole duration, once.
        Assert.Equal(1, Delta("streamboot_boot_duration_seconds_count"));

        // Every read went through a shared read cache (the session's, the read-only view's).
        Assert.True(Delta("streamboot_read_cache_hits_total") + Delta("streamboot_read_cache_misses_total") > 0);
    }

    [Fact]
    public async Task A_live_session_shows_in_the_sessions_and_write_cache_gauges_until_its_client_leaves()
    {
        var key = await site.BootAsync();
        await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc1/{key}"), "write -P 0x5a 1M 64k");
        var (reply, socket) = await RawNbd.GoAsync(IPAddress.Loopback, site.NbdPort, $"gold/pc1/{key}");
        using (socket)
        {
            Assert.NotEqual(RawNbd.RepErrPolicy, reply);
            var open = await site.ScrapeAsync();
            Assert.Equal(1, open.Sum("streamboot_sessions"));
            Assert.True(open.Sum("streamboot_write_cache_size_bytes") >= 64 * 1024, "pc1's overlay holds its 64 KiB write");
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await site.ScrapeAsync()).Sum("streamboot_sessions") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the session stayed in the gauge after its connection closed");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_client_outside_the_allowed_networks_gets_403_and_the_refusal_is_logged_and_counted()
    {
        var before = await site.ScrapeAsync();
        // From 127.0.0.2, claiming to be 127.0.0.1 in a header: the TCP peer is what counts.
        var outside = await ProcessRunner.RunAsync("curl", ["-sS", "--interface", MetricsSite.Outsider.ToString(), "-H", "X-Forwarded-For: 127.0.0.1", "-w", "\n%{http_code}", $"{site.Base}/metrics"]);
        Assert.True(outside.ExitCode == 0, outside.ToString());
        Assert.EndsWith("\n403", outside.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("streamboot_", outside.Stdout, StringComparison.Ordinal);
        await site.Server.WaitForOutputAsync("refused /metrics to 127.0.0.2");

        var after = await site.ScrapeAsync();
        Assert.Equal(1, after.Sum("streamboot_refusals_total", ("protocol", "http"), ("reason", "metrics_not_allowed")) - before.Sum("streamboot_refusals_total", ("protocol", "http"), ("reason", "metrics_not_allowed")));
    }

    [Fact]
    public async Task Refusals_are_counted_by_the_reason_the_log_names_and_never_by_what_the_client_sent()
    {
        var before = await site.ScrapeAsync();
        // A device view without its boot's key (NBD), a file TFTP does not have, a name full of junk.
        var (reply, socket) = await RawNbd.GoAsync(IPAddress.Loopback, site.NbdPort, "gold/pc1");
        socket.Dispose();
        Assert.Equal(RawNbd.RepErrPolicy, reply);
        var missing = await ProcessRunner.RunAsync("curl", ["-sS", $"tftp://127.0.0.1:{site.TftpPort}/no-such-file-EVIL"]);
        Assert.NotEqual(0, missing.ExitCode);
        (_, socket) = await RawNbd.GoAsync(IPAddress.Loopback, site.NbdPort, "EVIL/\"label\"/{x}");
        socket.Dispose();

        var after = await site.ScrapeAsync();
        double Delta(string protocol, string reason) =>
            after.Sum("streamboot_refusals_total", ("protocol", protocol), ("reason", reason)) - before.Sum("streamboot_refusals_total", ("protocol", protocol), ("reason", reason));
        Assert.Equal(1, Delta("nbd", "key_required"));
        Assert.Equal(1, Delta("tftp", "not_found"));
        Assert.DoesNotContain("EVIL", after.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("52:54:00", after.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("pc1", after.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_grafana_dashboard_is_a_dashboard_and_queries_only_series_the_server_exports()
    {
        var path = Path.Combine(Repository.Root, "deploy", "grafana-dashboard.json");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var dashboard = json.RootElement;
        Assert.True(dashboard.GetProperty("schemaVersion").GetInt32() >= 36, "Grafana 10 and 11 write schemaVersion 36 and up");
        Assert.False(string.IsNullOrWhiteSpace(dashboard.GetProperty("title").GetString()));
        var panels = dashboard.GetProperty("panels").EnumerateArray().ToList();
        Assert.True(panels.Count >= 7);
        var expressions = panels
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        Assert.True(expressions.Count >= 7);

        // Every series the panels ask for is in a real scrape once each protocol has carried traffic.
        await site.TrafficAsync();
        var scrape = await site.ScrapeAsync();
        var asked = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct().ToList();
        foreach (var wanted in (string[])["streamboot_sessions", "streamboot_boots_issued_total", "streamboot_boot_time_to_disk_seconds_bucket", "streamboot_boot_duration_seconds_bucket", Bytes,
            "streamboot_nbd_request_duration_seconds_bucket", "streamboot_read_cache_hits_total", "streamboot_refusals_total"])
        {
            Assert.Contains(wanted, asked);
        }

        var missing = asked.Where(name => !scrape.Has(name)).ToList();
        Assert.True(missing.Count == 0, $"the dashboard asks for series /metrics does not have: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task A_network_that_is_not_one_stops_serve_before_it_starts()
    {
        using var cli = new StreambootCli();
        var bad = await cli.RunAsync("serve", "--http-port", Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--metrics-allow", "10.0.0.0/8,10.1.2.3/33");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("'10.1.2.3/33' is not a network", bad.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\bstreamboot_[a-z_]+\b")]
    private static partial Regex MetricName();
}
