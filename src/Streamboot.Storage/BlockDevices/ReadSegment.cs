using Microsoft.Win32.SafeHandles;

namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// One consecutive piece of a mapped read (<see cref="IReadMapping"/>): where
/// its <see cref="Length"/> bytes already are, so a protocol can send them
/// without reading them into a buffer of its own first.
/// </summary>
public readonly struct ReadSegment
{
    private ReadSegment(ReadSegmentKind kind, int length, SafeFileHandle? file, long fileOffset, ReadOnlyMemory<byte> memory, FileMapping? mapping = null)
    {
        Kind = kind;
        Length = length;
        File = file;
        FileOffset = fileOffset;
        Memory = memory;
        Mapping = mapping;
    }

    public ReadSegmentKind Kind { get; }

    public int Length { get; }

    /// <summary>The image file (<see cref="ReadSegmentKind.File"/>); open as long as the device is.</summary>
    public SafeFileHandle? File { get; }

    /// <summary>Where in <see cref="File"/> (or the file of <see cref="Mapping"/>) the bytes start.</summary>
    public long FileOffset { get; }

    /// <summary>The file's mapping (<see cref="ReadSegmentKind.Mapped"/>); open as long as the device is.</summary>
    public FileMapping? Mapping { get; }

    /// <summary>The bytes (<see cref="ReadSegmentKind.Memory"/>).</summary>
    public ReadOnlyMemory<byte> Memory { get; }

    public static ReadSegment Zeroes(int length) => new(ReadSegmentKind.Zeroes, length, null, 0, default);

    public static ReadSegment FromFile(SafeFileHandle file, long fileOffset, int length) => new(ReadSegmentKind.File, length, file, fileOffset, default);

    public static ReadSegment FromMemory(ReadOnlyMemory<byte> bytes) => new(ReadSegmentKind.Memory, bytes.Length, null, 0, bytes);

    public static ReadSegment FromMapping(FileMapping mapping, long fileOffset, int length) => new(ReadSegmentKind.Mapped, length, null, fileOffset, default, mapping);

    /// <summary>
    /// Appends <paramref name="segment"/> to the first <paramref name="count"/>
    /// entries, joining it to the last one when it continues it (zeroes after
    /// zeroes, the next bytes of the same file); false when there is no room.
    /// </summary>
    public static bool TryAppend(Span<ReadSegment> segments, ref int count, ReadSegment segment)
    {
        if (segment.Length == 0)
        {
            return true;
        }

        if (count > 0 && segments[count - 1].TryJoin(segment, out var joined))
        {
            segments[count - 1] = joined;
            return true;
        }

        if (count == segments.Length)
        {
            return false;
        }

        segments[count++] = segment;
        return true;
    }

    /// <summary>
    /// Joins the segments a lower layer wrote from <paramref name="first"/> on
    /// to the one before them where they continue it; returns the new count.
    /// </summary>
    public static int JoinAt(Span<ReadSegment> segments, int first, int count)
    {
        if (first == 0 || first >= count || !segments[first - 1].TryJoin(segments[first], out var joined))
        {
            return count;
        }

        segments[first - 1] = joined;
        segments[(first + 1)..count].CopyTo(segments[first..]);
        return count - 1;
    }

    private bool TryJoin(ReadSegment next, out ReadSegment joined)
    {
        joined = default;
        if (Kind != next.Kind || (long)Length + next.Length > int.MaxValue)
        {
            return false;
        }

        switch (Kind)
        {
            case ReadSegmentKind.Zeroes:
                joined = Zeroes(Length + next.Length);
                return true;
            case ReadSegmentKind.File when File == next.File && FileOffset + Length == next.FileOffset:
                joined = FromFile(File!, FileOffset, Length + next.Length);
                return true;
            case ReadSegmentKind.Mapped when Mapping == next.Mapping && FileOffset + Length == next.FileOffset:
                joined = FromMapping(Mapping!, FileOffset, Length + next.Length);
                return true;
            default:
                return false;
        }
    }
}
