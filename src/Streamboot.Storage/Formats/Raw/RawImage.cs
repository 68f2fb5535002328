namespace Streamboot.Storage.Formats.Raw;

/// <summary>A raw image: the disk's bytes, one for one, in a sparse file.</summary>
public static class RawImage
{
    /// <summary>
    /// Creates a sparse raw image of <paramref name="sizeBytes"/>: setting the
    /// length allocates no blocks, so a 20 GiB disk costs nothing until written.
    /// Fails if the file exists.
    /// </summary>
    public static void CreateSparse(string path, long sizeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeBytes);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        file.SetLength(sizeBytes);
        file.Flush(flushToDisk: true);
    }
}
