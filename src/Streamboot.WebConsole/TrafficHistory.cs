using Microsoft.Extensions.Hosting;
using Streamboot.Telemetry;

namespace Streamboot.WebConsole;

/// <summary>
/// This server's bytes per second (NBD, iSCSI and HTTP, read and written),
/// sampled every <see cref="Interval"/> from the same counters /metrics
/// reads, the last <see cref="Capacity"/> samples kept for the dashboard's
/// chart. The servers table has each server's rate too, but only per
/// heartbeat (10 s): too coarse for a chart that moves while a client boots.
/// </summary>
public sealed class TrafficHistory : BackgroundService
{
    public const int Capacity = 90;
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly long[] _samples = new long[Capacity];
    private readonly Lock _lock = new();
    private int _count;
    private int _next;

    /// <summary>The samples, oldest first.</summary>
    public long[] Samples()
    {
        lock (_lock)
        {
            var result = new long[_count];
            for (var i = 0; i < _count; i++)
            {
                result[i] = _samples[(_next - _count + i + Capacity) % Capacity];
            }

            return result;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var last = Total();
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = Total();
            Add((long)(Math.Max(0, now - last) / Interval.TotalSeconds));
            last = now;
        }
    }

    private void Add(long perSecond)
    {
        lock (_lock)
        {
            _samples[_next] = perSecond;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(Capacity, _count + 1);
        }
    }

    private static long Total()
    {
        long sum = 0;
        foreach (var traffic in new[] { StreambootMetrics.NbdTraffic, StreambootMetrics.IscsiTraffic, StreambootMetrics.HttpTraffic })
        {
            sum += traffic.BytesRead + traffic.BytesWritten;
        }

        return sum;
    }
}
