namespace Streamboot.Storage.Tests.Support;

/// <summary>One step of a model-based test, applied to a device and to a byte array.</summary>
public abstract record ModelOp
{
    public sealed record Write(long Offset, int Length, byte Seed) : ModelOp;

    public sealed record Trim(long Offset, int Length) : ModelOp;

    public sealed record Zero(long Offset, int Length, bool MayTrim) : ModelOp;

    public sealed record Read(long Offset, int Length) : ModelOp;

    public sealed record Extents(long Offset, int Length) : ModelOp;

    public sealed record Flush : ModelOp;

    /// <summary>Close and open again: what was written must have reached the file.</summary>
    public sealed record Reopen : ModelOp;
}
