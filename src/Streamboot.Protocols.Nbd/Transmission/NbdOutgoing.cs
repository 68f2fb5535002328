namespace Streamboot.Protocols.Nbd.Transmission;

/// <summary>
/// One entry of a connection's send queue: the bytes of one or more whole
/// replies (a pooled buffer, or a READ reply's pieces where the device keeps
/// them), and the requests whose share of the in-flight limits goes back
/// once these bytes have left.
/// </summary>
internal readonly struct NbdOutgoing
{
    private NbdOutgoing(byte[]? buffer, int length, NbdMappedReply? mapped, int requests, long bytes)
    {
        Buffer = buffer;
        Length = length;
        Mapped = mapped;
        Requests = requests;
        Bytes = bytes;
    }

    /// <summary>A pooled buffer whose first <see cref="Length"/> bytes are sent; returned to the pool afterwards.</summary>
    public byte[]? Buffer { get; }

    public int Length { get; }

    /// <summary>A READ reply sent from where its bytes are (header and pieces); released afterwards.</summary>
    public NbdMappedReply? Mapped { get; }

    /// <summary>Requests answered by this entry.</summary>
    public int Requests { get; }

    /// <summary>Their bytes in flight.</summary>
    public long Bytes { get; }

    public static NbdOutgoing FromBuffer(byte[] pooled, int length, int requests, long bytes) => new(pooled, length, null, requests, bytes);

    public static NbdOutgoing FromMapped(NbdMappedReply reply, int requests, long bytes) => new(null, 0, reply, requests, bytes);
}
