namespace Streamboot.Storage.BlockDevices;

/// <summary>Where the bytes of a <see cref="ReadSegment"/> are.</summary>
public enum ReadSegmentKind
{
    /// <summary>The segment reads as zeroes (a hole, a zero cluster, past a backing file's end).</summary>
    Zeroes,

    /// <summary>A range of an open image file, byte for byte.</summary>
    File,

    /// <summary>Bytes in memory that nobody changes while a reference to them is held.</summary>
    Memory,

    /// <summary>A range of an image file through its <see cref="FileMapping"/>, for the kernel to read.</summary>
    Mapped,
}
