namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// What the logical unit makes of a CDB before any data moves: the data-out
/// it wants (the SCSI layer's transfer length, SPDTL) and where streamed
/// writes land, or the result it ends with at once (a bad field, a range
/// past the end, a write to a read-only view, a reservation conflict), so
/// no data is solicited for a command that fails anyway.
/// </summary>
internal readonly record struct ScsiPlan(DataOutMode DataOut, int DataOutLength, long DeviceOffset, bool ForceUnitAccess, ScsiResult? Done)
{
    /// <summary>
    /// The data-out is blocks (COMPARE AND WRITE, WRITE SAME, VERIFY's
    /// compare data), not a parameter list: an initiator buffer of another
    /// size is an error in the CDB, where a longer parameter list buffer is not.
    /// </summary>
    public bool Exact { get; init; }

    public static ScsiPlan NoData => new(DataOutMode.None, 0, 0, false, null);

    public static ScsiPlan Whole(int length) => new(DataOutMode.Whole, length, 0, false, null);

    public static ScsiPlan Blocks(int length) => new(DataOutMode.Whole, length, 0, false, null) { Exact = true };

    public static ScsiPlan Stream(long deviceOffset, int length, bool fua) => new(DataOutMode.Stream, length, deviceOffset, fua, null);

    public static ScsiPlan Finished(ScsiResult result) => new(DataOutMode.None, 0, 0, false, result);

    public static implicit operator ScsiPlan(SenseData sense) => Finished(ScsiResult.Check(sense));
}
