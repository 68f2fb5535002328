using System.Net;
using BenchmarkDotNet.Attributes;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Streamboot.Micro.Storage;
using Streamboot.Protocols.Nbd;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Server.Metrics;
using Streamboot.Storage.Stacks;

namespace Streamboot.Micro.Nbd;

/// <summary>
/// One whole NBD request over loopback to an in-process <see cref="NbdServer"/>
/// exporting a device session's stack (write cache over the shared read cache
/// over a qcow2 chain, warm). The memory diagnoser counts every thread's
/// allocations, so the server's per-request allocations show here. With
/// <see cref="Metrics"/> the server's meter provider listens (the OpenTelemetry
/// SDK, as <c>streamboot serve</c> builds it): what a request records into it
/// shows as the difference.
/// </summary>
[MemoryDiagnoser]
public class NbdRequestBenchmarks
{
    private readonly byte[] _data = new byte[256 * 1024];
    private TestDisk _disk = null!;
    private SharedImages _images = null!;
    private ComposedStack _session = null!;
    private NbdServer _server = null!;
    private MinimalNbdClient _client = null!;
    private ulong _cursor;
    private MeterProvider? _metrics;

    [Params(false, true)]
    public bool Metrics { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _metrics = Metrics ? MetricsEndpoint.AddStreambootMetrics(Sdk.CreateMeterProviderBuilder()).Build() : null;
        _disk = await TestDisk.CreateAsync();
        _images = new SharedImages(1L << 30);
        _session = _disk.OpenSession(_images);
        for (var pass = 0; pass < 2; pass++)
        {
            for (long at = 0; at < TestDisk.Size; at += _data.Length)
            {
                await _session.Device.ReadAsync(at, _data);
            }
        }

        _server = new NbdServer(new SessionExport(_session));
        _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _client = MinimalNbdClient.Open(_server.LocalEndPoint!.Port, "disk");
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task CleanupAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        await _session.DisposeAsync();
        await _images.DisposeAsync();
        await _disk.DisposeAsync();
        _metrics?.Dispose();
    }

    [Benchmark(Description = "NBD_CMD_READ 4 KiB")]
    public void Read4K() => _client.Read(Next(4096), _data.AsSpan(0, 4096));

    [Benchmark(Description = "NBD_CMD_READ 256 KiB")]
    public void Read256K() => _client.Read(Next(256 * 1024), _data.AsSpan(0, 256 * 1024));

    [Benchmark(Description = "NBD_CMD_WRITE 4 KiB")]
    public void Write4K() => _client.Write(Next(4096) % (1 << 20), _data.AsSpan(0, 4096));

    private ulong Next(int length)
    {
        var at = _cursor;
        _cursor = (at + (ulong)length) % TestDisk.Size;
        return at - at % (ulong)length;
    }

    /// <summary>Serves the one session under any name, as the server serves a device its session.</summary>
    private sealed class SessionExport(ComposedStack session) : INbdExportProvider
    {
        public ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<NbdExportListing>>([new NbdExportListing("disk")]);

        public ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken) =>
            ValueTask.FromResult(NbdOpenResult.Opened(new NbdExport(name, session.Device) { LeaveDeviceOpen = true }));
    }
}
