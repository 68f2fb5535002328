using System.Diagnostics.Metrics;

namespace Streamboot.Telemetry;

/// <summary>
/// The server's one <see cref="Meter"/>, "Streamboot", and what the code that
/// does the work records into it: request latencies, boots, refusals, errors,
/// and the byte and request totals of each streaming protocol. It lives in
/// Common so that protocols and storage record without knowing the server
/// host; the server reads the totals and exports everything at
/// <c>/metrics</c> (Server/Metrics). Gauges of what the server composed
/// (sessions, write caches, DHCP and TFTP counters) are the server's own.
/// </summary>
/// <remarks>
/// Per-request paths stay allocation-free (bench/Streamboot.Micro,
/// MetricsRecordingBenchmarks): bytes and requests are <see cref="Interlocked"/>
/// adds on <see cref="ProtocolTraffic"/>, read at scrape time; latencies are
/// one histogram per protocol recorded without tags. Label values are
/// constants or enum names (<see cref="MetricLabel"/>): never client text,
/// never a device, a MAC or a vDisk, so the number of series stays bounded.
/// </remarks>
public static class StreambootMetrics
{
    public const string MeterName = "Streamboot";

    public const string Nbd = "nbd";
    public const string Iscsi = "iscsi";
    public const string Http = "http";
    public const string Tftp = "tftp";
    public const string Dhcp = "dhcp";

    // From 50 µs (a page-cache hit on loopback) to 10 s (storage that hangs).
    private static readonly InstrumentAdvice<double> s_requestBuckets = new()
    {
        HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    // A kernel and initrd over HTTP take a few seconds; a SAN boot's firmware
    // reaches its disk in less; a boot storm queues for minutes.
    private static readonly InstrumentAdvice<double> s_bootBuckets = new()
    {
        HistogramBucketBoundaries = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300],
    };

    public static Meter Meter { get; } = new(MeterName);

    /// <summary>NBD commands, bytes read and written.</summary>
    public static ProtocolTraffic NbdTraffic { get; } = new();

    /// <summary>SCSI commands over iSCSI, Data-In and Data-Out bytes.</summary>
    public static ProtocolTraffic IscsiTraffic { get; } = new();

    /// <summary>HTTP requests, and the bytes of vDisk ranges and boot files sent.</summary>
    public static ProtocolTraffic HttpTraffic { get; } = new();

    /// <summary>Blocks the shared read caches served from memory, and blocks they had to read.</summary>
    public static ReadCacheTotals ReadCache { get; } = new();

    public static Histogram<double> NbdRequestDuration { get; } = Meter.CreateHistogram(
        "streamboot.nbd.request.duration", "s", "NBD requests: from the request's header read to its reply handed to the sender", tags: null, s_requestBuckets);

    public static Histogram<double> IscsiRequestDuration { get; } = Meter.CreateHistogram(
        "streamboot.iscsi.request.duration", "s", "SCSI commands over iSCSI: from the command PDU read to its status queued", tags: null, s_requestBuckets);

    public static Counter<long> BootsIssued { get; } = Meter.CreateCounter<long>(
        "streamboot.boots.issued", "{boot}", "Boot scripts that issued a boot (a new key)");

    public static Counter<long> BootsStarted { get; } = Meter.CreateCounter<long>(
        "streamboot.boots.started", "{boot}", "Boots started: the first open of a disk with a new boot's key");

    public static Histogram<double> BootTimeToDisk { get; } = Meter.CreateHistogram(
        "streamboot.boot.time_to_disk", "s", "From a boot's script (its key issued) to the first open of its disk with that key", tags: null, s_bootBuckets);

    public static Histogram<double> BootDuration { get; } = Meter.CreateHistogram(
        "streamboot.boot.duration", "s", "A boot's duration: from its script (its key issued) to its OS connecting its root disk over NBD", tags: null, s_bootBuckets);

    public static Counter<long> BootScripts { get; } = Meter.CreateCounter<long>(
        "streamboot.boot_scripts", "{script}", "Boot-script decisions by outcome (boot, menu, registration_menu, queued, refused)");

    public static Counter<long> BootFilesSent { get; } = Meter.CreateCounter<long>(
        "streamboot.http.boot_files.sendfile", "{file}", "Whole boot files (kernel, initrd) sent with sendfile on the plain HTTP port; the rest go through Kestrel");

    public static Counter<long> Refusals { get; } = Meter.CreateCounter<long>(
        "streamboot.refusals", "{refusal}", "Requests and connections refused, by protocol and reason (the reason the log line names)");

    public static Counter<long> Errors { get; } = Meter.CreateCounter<long>(
        "streamboot.errors", "{error}", "Requests answered with an error, by protocol and error (NBD error, SCSI sense key, HTTP status)");

    /// <summary>Counts a refusal. <paramref name="reason"/> is a constant or <see cref="MetricLabel.Of{TEnum}"/>, never client text.</summary>
    public static void Refused(string protocol, string reason) =>
        Refusals.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts a request answered with an error. <paramref name="error"/> is a constant or <see cref="MetricLabel.Of{TEnum}"/>.</summary>
    public static void Failed(string protocol, string error) =>
        Errors.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("error", error));

    /// <summary>Seconds since <paramref name="startTimestamp"/> (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).</summary>
    public static double SecondsSince(long startTimestamp) => System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
}
