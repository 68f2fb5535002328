using BenchmarkDotNet.Attributes;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.Stacks;

namespace Streamboot.Micro.Storage;

/// <summary>
/// One read as a protocol issues it: into a buffer (<see cref="IBlockDevice.ReadAsync"/>)
/// or as a mapping (<see cref="IReadMapping.TryMapRead"/>), through a session's
/// composed stack, the shared read cache alone, and the formats below it.
/// Reads walk the disk in steps of their own size, so every op reads other
/// blocks (an extents query, what NBD_CMD_BLOCK_STATUS asks, walks 1 MiB);
/// the page cache and the read cache are warm (the common case in a
/// boot storm, and the one whose cost is all ours).
/// </summary>
[MemoryDiagnoser]
public class StorageReadBenchmarks
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly ReadSegment[] _segments = new ReadSegment[16];
    private readonly BlockExtent[] _extents = new BlockExtent[64];
    private TestDisk _disk = null!;
    private SharedImages _images = null!;
    private ComposedStack _session = null!;
    private IReadMapping _sessionMapping = null!;
    private SharedReadCache _cache = null!;
    private IBlockDevice _raw = null!;
    private IBlockDevice _chain = null!;
    private long _cursor;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _disk = await TestDisk.CreateAsync();
        _images = new SharedImages(1L << 30);
        _session = _disk.OpenSession(_images);
        _sessionMapping = (IReadMapping)_session.Device;
        _cache = _images.Acquire(1, _disk.Version2).Cache;
        _raw = RawBlockDevice.Open(_disk.RawFile, readOnly: true);
        _chain = ImageChain.Open(_disk.Version2, readOnly: true);

        // Twice: the read cache keeps a block from its second sighting on.
        for (var pass = 0; pass < 2; pass++)
        {
            for (long at = 0; at < TestDisk.Size; at += _buffer.Length)
            {
                await _session.Device.ReadAsync(at, _buffer);
                await _raw.ReadAsync(at, _buffer);
                await _chain.ReadAsync(at, _buffer);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task CleanupAsync()
    {
        await _session.DisposeAsync();
        await _raw.DisposeAsync();
        await _chain.DisposeAsync();
        await _images.DisposeAsync();
        await _disk.DisposeAsync();
    }

    [Benchmark(Description = "session stack ReadAsync 64 KiB")]
    public ValueTask Session64K() => _session.Device.ReadAsync(Next(64 * 1024), _buffer.AsMemory(0, 64 * 1024));

    [Benchmark(Description = "session stack ReadAsync 4 KiB")]
    public ValueTask Session4K() => _session.Device.ReadAsync(Next(4096), _buffer.AsMemory(0, 4096));

    [Benchmark(Description = "session stack TryMapRead 64 KiB")]
    public bool SessionMap64K() => _sessionMapping.TryMapRead(Next(64 * 1024), 64 * 1024, _segments, out _);

    [Benchmark(Description = "session stack TryMapRead 4 KiB")]
    public bool SessionMap4K() => _sessionMapping.TryMapRead(Next(4096), 4096, _segments, out _);

    [Benchmark(Description = "SharedReadCache hit ReadAsync 64 KiB")]
    public ValueTask CacheHit64K() => _cache.ReadAsync(Next(64 * 1024), _buffer.AsMemory(0, 64 * 1024));

    [Benchmark(Description = "SharedReadCache hit TryMapRead 64 KiB")]
    public bool CacheHitMap64K() => _cache.TryMapRead(Next(64 * 1024), 64 * 1024, _segments, out _);

    [Benchmark(Description = "raw ReadAsync 64 KiB")]
    public ValueTask Raw64K() => _raw.ReadAsync(Next(64 * 1024), _buffer.AsMemory(0, 64 * 1024));

    [Benchmark(Description = "raw ReadAsync 4 KiB")]
    public ValueTask Raw4K() => _raw.ReadAsync(Next(4096), _buffer.AsMemory(0, 4096));

    [Benchmark(Description = "qcow2 chain ReadAsync 64 KiB")]
    public ValueTask Chain64K() => _chain.ReadAsync(Next(64 * 1024), _buffer.AsMemory(0, 64 * 1024));

    [Benchmark(Description = "qcow2 chain ReadAsync 4 KiB")]
    public ValueTask Chain4K() => _chain.ReadAsync(Next(4096), _buffer.AsMemory(0, 4096));

    [Benchmark(Description = "session stack GetExtentsAsync 1 MiB")]
    public ValueTask<int> SessionExtents() => _session.Device.GetExtentsAsync(Next(1 << 20), 1 << 20, _extents);

    [Benchmark(Description = "qcow2 chain GetExtentsAsync 1 MiB")]
    public ValueTask<int> ChainExtents() => _chain.GetExtentsAsync(Next(1 << 20), 1 << 20, _extents);

    private long Next(int length)
    {
        var at = _cursor;
        _cursor = (at + length) % TestDisk.Size;
        return at - at % length;
    }
}
