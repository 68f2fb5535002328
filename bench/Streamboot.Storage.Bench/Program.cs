using System.Diagnostics;
using System.Globalization;
using Streamboot.Bench;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Import;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.WriteCaches;

// Read throughput through the layer stack, next to plain pread of the same
// raw file in the same run, page cache hot.
//   dotnet run -c Release --project bench/Streamboot.Storage.Bench [-- SIZE_MIB [SECONDS]]
var sizeMiB = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 512;
var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.5;
var size = (long)sizeMiB << 20;
var dir = Directory.CreateTempSubdirectory("streamboot-bench-").FullName;
try
{
    Console.WriteLine($"Setting up a {sizeMiB} MiB disk in {dir} ...");
    var basePath = Path.Combine(dir, "base.raw");
    WriteRandomFile(basePath, size);

    // qcow2 chain of three versions: a full base, then two versions that
    // each rewrote 5 % of the clusters (spread over the disk).
    var v0 = Path.Combine(dir, "v0.qcow2");
    Qcow2Image.Create(v0, size);
    await using (var raw = RawBlockDevice.Open(basePath, readOnly: true))
    await using (var q = Qcow2Image.Open(v0, readOnly: false))
    {
        await ImageCopier.CopyAsync(raw, q);
    }

    Qcow2Image.Create(Path.Combine(dir, "v1.qcow2"), 0, Qcow2Image.DefaultClusterSize, "v0.qcow2");
    Qcow2Image.Create(Path.Combine(dir, "v2.qcow2"), 0, Qcow2Image.DefaultClusterSize, "v1.qcow2");
    await RewriteSomeClusters(Path.Combine(dir, "v1.qcow2"), 1);
    await RewriteSomeClusters(Path.Combine(dir, "v2.qcow2"), 2);

    // Production images reach the page cache by being read (after a server
    // start), not by being written: drop what setup left there and warm the
    // caches with reads, so every file has the page-cache layout readahead gives.
    foreach (var file in Directory.GetFiles(dir))
    {
        PageCache.Drop(file);
    }

    await using var plainDevice = RawBlockDevice.Open(basePath, readOnly: true);
    using var plainHandle = File.OpenHandle(basePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
    await using var single = Qcow2Image.Open(v0, readOnly: true);
    await using var chain = ImageChain.Open(Path.Combine(dir, "v2.qcow2"), readOnly: true);
    await using var chainForCache = ImageChain.Open(Path.Combine(dir, "v2.qcow2"), readOnly: true);
    await using var session = WriteCache.OnServerDisk(chainForCache, Path.Combine(dir, "session.cache"));
    await SessionWrites(session);
    await using var chainForShared = ImageChain.Open(Path.Combine(dir, "v2.qcow2"), readOnly: true);
    var shared = new SharedReadCache(chainForShared, size + (64 << 20), ownsLower: false);
    await using var sessionOverShared = WriteCache.OnServerDisk(shared, Path.Combine(dir, "session2.cache"));
    await SessionWrites(sessionOverShared);

    var targets = new (string Name, Func<long, Memory<byte>, ValueTask> Read)[]
    {
        ("plain pread (RandomAccess)", (o, b) => { RandomAccess.Read(plainHandle, b.Span, o); return default; }),
        ("raw layer", (o, b) => plainDevice.ReadAsync(o, b)),
        ("qcow2 single image (v0)", (o, b) => single.ReadAsync(o, b)),
        ("qcow2 3-version chain", (o, b) => chain.ReadAsync(o, b)),
        ("chain + server-disk write cache", (o, b) => session.ReadAsync(o, b)),
        ("chain + shared read cache + write cache", (o, b) => sessionOverShared.ReadAsync(o, b)),
    };

    foreach (var (_, read) in targets)
    {
        await Sequential(read, size, 0.5); // page cache (and read cache) hot
    }

    foreach (var (_, read) in targets)
    {
        await WholeDisk(read, size);
    }

    // Rounds go across all stacks, so noise from the machine (two cores
    // shared with other work) spreads evenly instead of hitting one stack.
    const int Rounds = 5;
    var seqRuns = targets.Select(_ => new List<double>()).ToArray();
    var randRuns = targets.Select(_ => new List<double>()).ToArray();
    for (var round = 0; round < Rounds; round++)
    {
        for (var t = 0; t < targets.Length; t++)
        {
            seqRuns[t].Add(await Sequential(targets[t].Read, size, seconds));
            randRuns[t].Add(await Random4K(targets[t].Read, size, seconds));
        }
    }

    Console.WriteLine();
    Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, {sizeMiB} MiB disk, {seconds} s per run, median of {Rounds} interleaved rounds, one thread");
    Console.WriteLine($"{"stack",-42} {"seq 1 MiB MB/s",15} {"ratio",6} {"4 KiB rand IOPS",16} {"ratio",6}");
    var plainSeq = Median(seqRuns[0]);
    var plainRand = Median(randRuns[0]);
    for (var t = 0; t < targets.Length; t++)
    {
        var seq = Median(seqRuns[t]);
        var rand = Median(randRuns[t]);
        Console.WriteLine($"{targets[t].Name,-42} {seq,15:F0} {seq / plainSeq,6:F2} {rand,16:F0} {rand / plainRand,6:F2}");
    }

    Console.WriteLine($"shared read cache: {shared.Hits} hits, {shared.Misses} misses, {shared.BytesCached >> 20} MiB held");

    // The RESULT lines for bench/run: each stack against plain pread of the raw file.
    Console.WriteLine();
    for (var t = 1; t < targets.Length; t++)
    {
        var row = targets[t].Name.Replace(' ', '-');
        BenchResult.Print("storage", "seq-1M", "MB/s", row, "pread", Median(seqRuns[t]), plainSeq);
        BenchResult.Print("storage", "rand-4k", "IOPS", row, "pread", Median(randRuns[t]), plainRand);
    }
}
finally
{
    Directory.Delete(dir, recursive: true);
}

static double Median(List<double> runs) => runs.Order().ElementAt(runs.Count / 2);

static async Task<double> Sequential(Func<long, Memory<byte>, ValueTask> read, long size, double seconds)
{
    var buffer = new byte[1 << 20];
    long bytes = 0;
    long offset = 0;
    var watch = Stopwatch.StartNew();
    while (watch.Elapsed.TotalSeconds < seconds)
    {
        await read(offset, buffer);
        bytes += buffer.Length;
        offset += buffer.Length;
        if (offset >= size)
        {
            offset = 0;
        }
    }

    return bytes / watch.Elapsed.TotalSeconds / 1e6;
}

static async Task WholeDisk(Func<long, Memory<byte>, ValueTask> read, long size)
{
    var buffer = new byte[1 << 20];
    for (long offset = 0; offset < size; offset += buffer.Length)
    {
        await read(offset, buffer);
    }
}

static async Task<double> Random4K(Func<long, Memory<byte>, ValueTask> read, long size, double seconds)
{
    var buffer = new byte[4096];
    var random = new Random(1);
    var blocks = size / 4096;
    long ops = 0;
    var watch = Stopwatch.StartNew();
    while (true)
    {
        for (var i = 0; i < 1024; i++)
        {
            await read(random.NextInt64(blocks) * 4096, buffer);
        }

        ops += 1024;
        if (watch.Elapsed.TotalSeconds >= seconds)
        {
            return ops / watch.Elapsed.TotalSeconds;
        }
    }
}

static void WriteRandomFile(string path, long size)
{
    var random = new Random(7);
    var chunk = new byte[1 << 20];
    using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
    for (long at = 0; at < size; at += chunk.Length)
    {
        random.NextBytes(chunk);
        RandomAccess.Write(handle, chunk, at);
    }
}

static async Task RewriteSomeClusters(string path, int seed)
{
    await using var image = ImageChain.Open(path, readOnly: false);
    var random = new Random(seed);
    var cluster = new byte[Qcow2Image.DefaultClusterSize];
    var clusters = image.Size / cluster.Length;
    for (var i = 0; i < clusters / 20; i++)
    {
        random.NextBytes(cluster);
        await image.WriteAsync(random.NextInt64(clusters) * cluster.Length, cluster);
    }
}

static async Task SessionWrites(IBlockDevice session)
{
    // A booted client has written a little: 1 % of the disk in 4 KiB blocks.
    var random = new Random(3);
    var block = new byte[4096];
    for (var i = 0; i < session.Size / 4096 / 100; i++)
    {
        random.NextBytes(block);
        await session.WriteAsync(random.NextInt64(session.Size / 4096) * 4096, block);
    }
}


/// <summary>posix_fadvise(POSIX_FADV_DONTNEED): evicts a file's clean pages from the page cache.</summary>
internal static partial class PageCache
{
    public static void Drop(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        _ = PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, 4);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);
}
