using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Streamboot.Server.Metrics;
using Streamboot.Telemetry;

namespace Streamboot.Micro.Metrics;

/// <summary>
/// What one request records into the Streamboot meter, with the server's
/// meter provider listening (the OpenTelemetry SDK and its Prometheus
/// exporter, built by <see cref="MetricsEndpoint.AddStreambootMetrics"/>):
/// the calls NBD makes per READ, iSCSI per command, TFTP per block (none of
/// its own: its statistics already count), and a refusal with two labels.
/// Each must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class MetricsRecordingBenchmarks
{
    private MeterProvider _metrics = null!;
    private long _started;

    [GlobalSetup]
    public void Setup()
    {
        _metrics = MetricsEndpoint.AddStreambootMetrics(Sdk.CreateMeterProviderBuilder()).Build();
        _started = Stopwatch.GetTimestamp();
    }

    [GlobalCleanup]
    public void Cleanup() => _metrics.Dispose();

    [Benchmark(Description = "NBD READ: request, bytes, latency")]
    public void NbdRead()
    {
        StreambootMetrics.NbdTraffic.Request();
        StreambootMetrics.NbdTraffic.Read(4096);
        StreambootMetrics.NbdRequestDuration.Record(StreambootMetrics.SecondsSince(_started));
    }

    [Benchmark(Description = "iSCSI READ: command, Data-In, latency")]
    public void IscsiRead()
    {
        StreambootMetrics.IscsiTraffic.Request();
        StreambootMetrics.IscsiTraffic.Read(65536);
        StreambootMetrics.IscsiRequestDuration.Record(StreambootMetrics.SecondsSince(_started));
    }

    [Benchmark(Description = "HTTP range piece: bytes")]
    public void HttpPiece() => StreambootMetrics.HttpTraffic.Read(65536);

    [Benchmark(Description = "read cache hit")]
    public void ReadCacheHit() => StreambootMetrics.ReadCache.Hit();

    [Benchmark(Description = "refusal (protocol, reason)")]
    public void Refusal() => StreambootMetrics.Refused(StreambootMetrics.Nbd, "key_required");

    [Benchmark(Description = "NBD error reply (protocol, error)")]
    public void Error() => StreambootMetrics.Failed(StreambootMetrics.Nbd, "eio");
}
