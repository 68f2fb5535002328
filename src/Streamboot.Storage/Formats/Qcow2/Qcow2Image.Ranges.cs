namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>What this image itself holds, without its backing chain (for commit and merge).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Runs of guest clusters this image maps itself, in order: data
    /// (normal or compressed) or zero clusters. Unallocated clusters, which
    /// show the backing image, are left out.
    /// </summary>
    public IEnumerable<(long Offset, long Length, bool Zero)> OwnRanges()
    {
        var clusters = (Size + _clusterSize - 1) >> _clusterBits;
        long runStart = -1;
        var runZero = false;
        for (long c = 0; c <= clusters; c++)
        {
            var kind = c < clusters ? Classify(GetL2Entry(c)) : ClusterKind.Unallocated;
            var isZero = kind == ClusterKind.Zero;
            if (runStart >= 0 && (kind == ClusterKind.Unallocated || isZero != runZero))
            {
                var start = runStart << _clusterBits;
                yield return (start, Math.Min(Size, c << _clusterBits) - start, runZero);
                runStart = -1;
            }

            if (kind != ClusterKind.Unallocated && runStart < 0)
            {
                runStart = c;
                runZero = isZero;
            }
        }
    }
}
