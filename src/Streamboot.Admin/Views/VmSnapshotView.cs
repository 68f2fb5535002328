namespace Streamboot.Admin.Views;

/// <summary>
/// A snapshot of a VM. <see cref="Memory"/>: it holds the running guest's
/// memory and device state (taken while the VM ran), so a revert of the
/// running VM resumes the guest where it was; otherwise it is the disk alone.
/// </summary>
public sealed record VmSnapshotView(string Vm, string Name, bool Memory, long MemoryBytes, DateTime TakenAt, double VmClockSeconds)
{
    /// <summary>Set on the answer of a take, revert or delete: what happened beyond the obvious.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }
}
