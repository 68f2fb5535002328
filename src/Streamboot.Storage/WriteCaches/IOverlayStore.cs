namespace Streamboot.Storage.WriteCaches;

/// <summary>
/// Where an <see cref="OverlayWriteCache"/> keeps its blocks: numbered slots
/// of one block each, in a file, in RAM, or in RAM spilling to a file.
/// </summary>
public interface IOverlayStore : IDisposable
{
    /// <summary>Bytes of blocks held now (what the write cache "weighs").</summary>
    long BytesUsed { get; }

    /// <summary>A free slot; throws BlockDeviceException(NoSpace) when the store is full.</summary>
    int Allocate();

    void Free(int slot);

    void Read(int slot, int offsetInBlock, Span<byte> destination);

    void Write(int slot, int offsetInBlock, ReadOnlySpan<byte> source);

    /// <summary>Makes written blocks durable (a file store syncs; RAM has nothing to do).</summary>
    void Flush();
}
