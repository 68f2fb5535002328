using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Import;
using Streamboot.Storage.Stacks;

namespace Streamboot.Nbd.Bench;

/// <summary>
/// The block-device stack a device's session streams in <c>streamboot serve</c>,
/// composed by the same function the server calls (Storage's
/// <see cref="Storage.Stacks.SessionStack"/>): a three-version qcow2 chain,
/// the shared read cache over it, and the device's qcow2 write-cache overlay on top.
/// </summary>
internal static class SessionStack
{
    private const int ClusterSize = 64 * 1024;

    /// <summary>v1 is the raw image imported as qcow2; v2 and v3 each rewrite 5 % of the clusters.</summary>
    public static async Task<string> BuildChainAsync(string rawImage, string folder)
    {
        var v1 = Path.Combine(folder, "chain.1.qcow2");
        await ImageImporter.ImportAsync(rawImage, v1, ImageFormat.Qcow2);
        var below = v1;
        var random = new Random(7);
        var buffer = new byte[ClusterSize];
        for (var n = 2; n <= 3; n++)
        {
            var top = Path.Combine(folder, $"chain.{n}.qcow2");
            Qcow2Image.Create(top, 0, ClusterSize, Path.GetFileName(below), "qcow2");
            await using (var image = ImageChain.Open(top, readOnly: false))
            {
                var clusters = image.Size / ClusterSize;
                for (long i = 0; i < clusters / 20; i++)
                {
                    random.NextBytes(buffer);
                    await image.WriteAsync(random.NextInt64(clusters) * ClusterSize, buffer);
                }

                await image.FlushAsync();
            }

            below = top;
        }

        return below;
    }

    /// <summary>The session stack over <paramref name="top"/>, its write cache in <paramref name="overlay"/> (a read cache the whole disk fits in).</summary>
    public static ComposedStack Open(string top, string overlay) =>
        Storage.Stacks.SessionStack.Compose(
            new SessionStackPlan(1, top, ImageChain.ReadVirtualSize(top), WriteCacheLayer.Qcow2File) { CacheFile = overlay },
            new SharedImages(2L << 30));
}
