using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Tests.Support;

/// <summary>Mapped reads (<see cref="IReadMapping"/>) turned back into bytes, the way a sender would fetch them.</summary>
public static class Mapped
{
    /// <summary>The bytes the device's mapping of the range names; null when the device declines (or cannot map).</summary>
    public static byte[]? TryRead(IBlockDevice device, long offset, int length, int maxSegments = 64)
    {
        if (device is not IReadMapping mapping)
        {
            return null;
        }

        var segments = new ReadSegment[maxSegments];
        if (!mapping.TryMapRead(offset, length, segments, out var count))
        {
            return null;
        }

        return Fetch(segments.AsSpan(0, count), length);
    }

    /// <summary>Reads what the segments name; a file shorter than its segment reads as zeroes past its end.</summary>
    public static byte[] Fetch(ReadOnlySpan<ReadSegment> segments, int length)
    {
        var bytes = new byte[length];
        var at = 0;
        foreach (var segment in segments)
        {
            if (segment.Length <= 0)
            {
                throw new Xunit.Sdk.XunitException($"an empty segment ({segment.Kind}) in a mapping");
            }

            var piece = bytes.AsSpan(at, segment.Length);
            switch (segment.Kind)
            {
                case ReadSegmentKind.File:
                    var position = segment.FileOffset;
                    while (!piece.IsEmpty)
                    {
                        var n = RandomAccess.Read(segment.File!, piece, position);
                        if (n == 0)
                        {
                            break;
                        }

                        piece = piece[n..];
                        position += n;
                    }

                    break;
                case ReadSegmentKind.Memory:
                    segment.Memory.Span.CopyTo(piece);
                    break;
                case ReadSegmentKind.Mapped:
                    // A test may read a mapping itself: nobody truncates its files.
                    var address = segment.Mapping!.Acquire(segment.FileOffset);
                    try
                    {
                        System.Runtime.InteropServices.Marshal.Copy(address, bytes, at, segment.Length);
                    }
                    finally
                    {
                        segment.Mapping.Release();
                    }

                    break;
            }

            at += segment.Length;
        }

        if (at != length)
        {
            throw new Xunit.Sdk.XunitException($"the segments cover {at} bytes of a {length}-byte read");
        }

        return bytes;
    }
}
