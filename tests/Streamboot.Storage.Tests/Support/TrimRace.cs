using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Tests.Support;

/// <summary>
/// Tasks that each own some blocks write, trim and flush them over and over.
/// Trimmed storage is reused, so if a write could land in storage a trim
/// released, another task's block would change under it. At the end every
/// block must hold what its owner last put there.
/// </summary>
public static class TrimRace
{
    public static async Task RunAsync(IBlockDevice device, int blockSize, int blocks, int tasks = 4, int rounds = 800)
    {
        var expected = new byte[blocks][];
        var workers = Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            for (var i = 0; i < rounds; i++)
            {
                var block = (random.Next(0, blocks / tasks) * tasks) + t;
                var offset = (long)block * blockSize;
                switch (random.Next(4))
                {
                    case 0:
                        await device.TrimAsync(offset, blockSize);
                        expected[block] = new byte[blockSize];
                        break;
                    case 1:
                        await device.FlushAsync();
                        break;
                    default:
                        var data = Sync.Pattern(blockSize, (byte)random.Next(1, 255));
                        await device.WriteAsync(offset, data);
                        expected[block] = data;
                        break;
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        for (var block = 0; block < blocks; block++)
        {
            if (expected[block] is { } want && !device.Read((long)block * blockSize, blockSize).AsSpan().SequenceEqual(want))
            {
                throw new Xunit.Sdk.XunitException($"block {block} does not hold what its owner last wrote");
            }
        }
    }
}
