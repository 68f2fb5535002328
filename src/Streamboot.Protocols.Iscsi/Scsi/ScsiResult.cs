namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// How a command ended: its status, its sense data on CHECK CONDITION, and
/// the data it returns, either as bytes (parameter data) or as a range of
/// the device that the transport streams in pieces (READ), so a large read
/// is never held whole in memory.
/// </summary>
internal readonly struct ScsiResult
{
    private ScsiResult(ScsiStatus status, SenseData sense, byte[]? data, int dataLength, long readOffset, int readLength)
    {
        Status = status;
        Sense = sense;
        Data = data;
        DataLength = dataLength;
        ReadOffset = readOffset;
        ReadLength = readLength;
    }

    public ScsiStatus Status { get; }

    public SenseData Sense { get; }

    public byte[]? Data { get; }

    public int DataLength { get; }

    /// <summary>Byte offset in the device of the data to stream (READ), when <see cref="ReadLength"/> &gt; 0.</summary>
    public long ReadOffset { get; }

    public int ReadLength { get; }

    /// <summary>Bytes of data-in the command produced (SPDTL), before the transport cuts it to what the initiator expects.</summary>
    public int DataInLength => Data is not null ? DataLength : ReadLength;

    public static ScsiResult Good => new(ScsiStatus.Good, default, null, 0, 0, 0);

    public static ScsiResult WithData(byte[] data, int length) => new(ScsiStatus.Good, default, data, length, 0, 0);

    public static ScsiResult WithData(byte[] data) => new(ScsiStatus.Good, default, data, data.Length, 0, 0);

    public static ScsiResult FromDevice(long offset, int length) => new(ScsiStatus.Good, default, null, 0, offset, length);

    public static ScsiResult Check(SenseData sense) => new(ScsiStatus.CheckCondition, sense, null, 0, 0, 0);

    public static ScsiResult Check(SenseKey key, AdditionalSense code) => Check(new SenseData(key, code));

    public static ScsiResult WithStatus(ScsiStatus status) => new(status, default, null, 0, 0, 0);

    public static ScsiResult Conflict => WithStatus(ScsiStatus.ReservationConflict);

    public static implicit operator ScsiResult(SenseData sense) => Check(sense);
}
