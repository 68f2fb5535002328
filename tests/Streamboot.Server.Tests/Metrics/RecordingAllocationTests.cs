using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Streamboot.Server.Metrics;
using Streamboot.Telemetry;

namespace Streamboot.Server.Tests.Metrics;

/// <summary>
/// What the per-request paths record (NBD and iSCSI per request, HTTP per
/// range piece, the read cache per hit) allocates nothing with the server's
/// meter provider listening: a regression test beside the numbers of
/// bench/Streamboot.Micro (MetricsRecordingBenchmarks).
/// </summary>
public sealed class RecordingAllocationTests
{
    [Fact]
    public void Recording_a_request_allocates_nothing_with_the_servers_meter_provider_listening()
    {
        using var provider = MetricsEndpoint.AddStreambootMetrics(Sdk.CreateMeterProviderBuilder()).Build();
        var started = Stopwatch.GetTimestamp();
        var before = StreambootMetrics.NbdTraffic.Requests;

        // The SDK makes each series' state at its first measurement: warm up, then count.
        RecordRequests(started, 1_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        RecordRequests(started, 100_000);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.Equal(0, allocated);
        Assert.Equal(101_000, StreambootMetrics.NbdTraffic.Requests - before);
    }

    private static void RecordRequests(long started, int count)
    {
        for (var i = 0; i < count; i++)
        {
            StreambootMetrics.NbdTraffic.Request();
            StreambootMetrics.NbdTraffic.Read(4096);
            StreambootMetrics.NbdRequestDuration.Record(StreambootMetrics.SecondsSince(started));
            StreambootMetrics.IscsiTraffic.Request();
            StreambootMetrics.IscsiTraffic.Written(65536);
            StreambootMetrics.IscsiRequestDuration.Record(StreambootMetrics.SecondsSince(started));
            StreambootMetrics.HttpTraffic.Read(65536);
            StreambootMetrics.ReadCache.Hit();
            StreambootMetrics.Failed(StreambootMetrics.Nbd, "eio");
        }
    }
}
