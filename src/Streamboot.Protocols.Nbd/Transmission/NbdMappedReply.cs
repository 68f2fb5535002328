using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Streamboot.Protocols.Nbd.Native;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Transmission;

/// <summary>
/// A READ reply sent without a buffer of ours. Copying every byte twice
/// (page cache into our buffer, buffer into the socket) was the largest cost
/// of serving big reads (bench/README.md). When the device can say where a
/// range's bytes already are (IReadMapping: a mapped image file, a read
/// cache's blocks, zeroes, a plain file range), the reply is its header and
/// those pieces, sent with one sendmsg(2) straight into the socket (a plain
/// file range with sendfile(2)). This holds the pieces' addresses valid (cache
/// blocks pinned, mappings acquired) from the moment the reply is made until
/// <see cref="Release"/>, after it has been sent (<see cref="NbdReplyWriter"/>).
/// </summary>
internal sealed class NbdMappedReply
{
    /// <summary>Smaller replies are gathered into one send with their neighbours (batching), which beats a call each.</summary>
    public const int Threshold = 64 * 1024;

    /// <summary>Segments a mapping may describe one reply with.</summary>
    public const int MaxSegments = 64;

    private const int ZeroesLength = 256 * 1024;

    // Zeroes are sent from here, a piece at a time; the pinned heap keeps the address fixed.
    private static readonly byte[] s_zeroes = GC.AllocateArray<byte>(ZeroesLength, pinned: true);

    private readonly MemoryHandle[] _pins;
    private readonly FileMapping[] _mappings;
    private int _pinned;
    private int _acquired;

    private NbdMappedReply(int pieces, int segments)
    {
        Pieces = ArrayPool<SendPiece>.Shared.Rent(pieces);
        _pins = ArrayPool<MemoryHandle>.Shared.Rent(segments);
        _mappings = ArrayPool<FileMapping>.Shared.Rent(segments);
    }

    /// <summary>The reply header (simple, or a structured OFFSET_DATA chunk header and offset).</summary>
    public byte[] Header { get; } = new byte[NbdProtocol.MaxReplyHeaderSize];

    public int HeaderLength { get; private set; }

    public SendPiece[] Pieces { get; }

    public int PieceCount { get; private set; }

    /// <summary>Header and data.</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Asks <paramref name="mapping"/> where <c>[offset, +length)</c> is. False
    /// when it declines (or fails: the copy path then reports the error the
    /// way a read would).
    /// </summary>
    public static bool TryMap(IReadMapping mapping, long offset, int length, Span<ReadSegment> segments, out int count)
    {
        try
        {
            return mapping.TryMapRead(offset, length, segments, out count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            count = 0;
            return false;
        }
    }

    /// <summary>The reply for <paramref name="segments"/>; its header is written by the caller into <see cref="Header"/>.</summary>
    public static NbdMappedReply Create(int headerLength, ReadOnlySpan<ReadSegment> segments)
    {
        var pieceCount = 0;
        foreach (var segment in segments)
        {
            pieceCount += segment.Kind == ReadSegmentKind.Zeroes ? (segment.Length + ZeroesLength - 1) / ZeroesLength : 1;
        }

        var reply = new NbdMappedReply(pieceCount, segments.Length) { HeaderLength = headerLength };
        try
        {
            reply.Length = headerLength;
            foreach (var segment in segments)
            {
                reply.Length += segment.Length;
                switch (segment.Kind)
                {
                    case ReadSegmentKind.File:
                        reply.Add(SendPiece.FromFile(segment.File!, segment.FileOffset, segment.Length));
                        break;
                    case ReadSegmentKind.Memory:
                        reply.Add(SendPiece.FromAddress(reply.Pin(segment.Memory), segment.Length));
                        break;
                    case ReadSegmentKind.Mapped:
                        // Only the kernel reads through this address: a file truncated
                        // under the mapping is EFAULT there, where a read of ours would be SIGBUS.
                        reply.Add(SendPiece.FromAddress(reply.Acquire(segment.Mapping!, segment.FileOffset), segment.Length));
                        break;
                    default:
                        for (var left = segment.Length; left > 0; left -= ZeroesLength)
                        {
                            reply.Add(SendPiece.FromAddress(AddressOf(s_zeroes), Math.Min(left, ZeroesLength)));
                        }

                        break;
                }
            }

            return reply;
        }
        catch
        {
            reply.Release();
            throw;
        }
    }

    /// <summary>Unpins and releases what kept the pieces valid; the reply is not used again.</summary>
    public void Release()
    {
        for (var i = 0; i < _pinned; i++)
        {
            _pins[i].Dispose();
        }

        for (var i = 0; i < _acquired; i++)
        {
            _mappings[i].Release();
        }

        _pinned = 0;
        _acquired = 0;
        ArrayPool<MemoryHandle>.Shared.Return(_pins, clearArray: true);
        ArrayPool<FileMapping>.Shared.Return(_mappings, clearArray: true);
        ArrayPool<SendPiece>.Shared.Return(Pieces, clearArray: true);
    }

    private void Add(SendPiece piece) => Pieces[PieceCount++] = piece;

    private unsafe nint Pin(ReadOnlyMemory<byte> memory)
    {
        _pins[_pinned] = memory.Pin();
        return (nint)_pins[_pinned++].Pointer;
    }

    private nint Acquire(FileMapping mapping, long offset)
    {
        var address = mapping.Acquire(offset);
        _mappings[_acquired++] = mapping;
        return address;
    }

    private static unsafe nint AddressOf(byte[] pinned) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
}
