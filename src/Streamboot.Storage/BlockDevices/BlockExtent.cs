namespace Streamboot.Storage.BlockDevices;

/// <summary>One run of bytes in the same allocation state.</summary>
public readonly record struct BlockExtent(long Offset, long Length, ExtentFlags Flags)
{
    public long End => Offset + Length;
}
