using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats.Qcow2;

/// <summary>
/// Eight writers share clusters (each owns every eighth 1000-byte slice, so
/// they keep allocating the same clusters at once), while readers read a
/// range nobody writes and a flusher flushes. Every byte must end up right
/// and the image clean.
/// </summary>
public sealed class Qcow2ConcurrencyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(4096)]
    [InlineData(65536)]
    public async Task Concurrent_writers_readers_and_flushes_keep_every_byte(int clusterSize)
    {
        const int size = 8 << 20;
        const int slice = 1000;
        const int writers = 8;
        var baseBytes = Sync.Pattern(size, 21);
        File.WriteAllBytes(_dir.File("base.raw"), baseBytes);
        Qcow2Image.Create(_dir.File("top.qcow2"), size, clusterSize, "base.raw", "raw");
        var image = ImageChain.Open(_dir.File("top.qcow2"), readOnly: false);
        var model = (byte[])baseBytes.Clone();
        var stop = new CancellationTokenSource();

        // Writers touch the first 6 MiB; the last 2 MiB must keep showing the base.
        var writeTasks = Enumerable.Range(0, writers).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            for (var i = 0; i < 1500; i++)
            {
                var sliceIndex = (random.Next(0, (6 << 20) / (slice * writers)) * writers) + t;
                var data = Sync.Pattern(slice, (byte)random.Next(1, 255));
                await image.WriteAsync((long)sliceIndex * slice, data);
                lock (model)
                {
                    data.CopyTo(model, sliceIndex * slice);
                }
            }
        })).ToArray();
        var readTasks = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            var random = new Random(100 + r);
            var buffer = new byte[70_000];
            while (!stop.IsCancellationRequested)
            {
                var offset = random.Next(6 << 20, size - buffer.Length);
                await image.ReadAsync(offset, buffer);
                Assert.True(buffer.AsSpan().SequenceEqual(baseBytes.AsSpan(offset, buffer.Length)), $"reader saw wrong bytes at {offset}");
            }
        })).ToArray();
        var flusher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await image.FlushAsync();
                await Task.Delay(5);
            }
        });

        await Task.WhenAll(writeTasks);
        await stop.CancelAsync();
        await Task.WhenAll(readTasks);
        await flusher;

        Assert.Equal(model, image.Read(0, size));
        image.Close();
        Qemu.CheckClean(_dir.File("top.qcow2"));
        Qcow2ModelTests.CompareWithQemu(_dir.File("top.qcow2"), model, _dir);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(65536)]
    public async Task Writes_racing_trims_and_flushes_never_land_in_reused_clusters(int clusterSize)
    {
        var path = _dir.File("race.qcow2");
        Qcow2Image.Create(path, 256L * clusterSize, clusterSize);
        var image = Qcow2Image.Open(path, readOnly: false);
        await TrimRace.RunAsync(image, clusterSize, 256);
        image.Close();
        Qemu.CheckClean(path);
    }
}
