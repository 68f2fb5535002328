namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// A VM's disk with every choice made: a new file, a copy of an existing
/// image, or an existing image or physical disk attached where it is.
/// </summary>
public sealed record VmDiskPlan
{
    /// <summary>The file (or block device) the VM's QEMU opens.</summary>
    public required string File { get; init; }

    public ImageFormat Format { get; init; }

    public long SizeBytes { get; init; }

    public bool Preallocate { get; init; }

    public VmDiskBus Bus { get; init; }

    /// <summary>An existing image to copy (converted) into <see cref="File"/>; null for a new, blank disk.</summary>
    public string? CopyOf { get; init; }

    /// <summary>qemu's name of <see cref="CopyOf"/>'s format (vmdk, vdi, vpc ...).</summary>
    public string? CopyOfFormat { get; init; }

    /// <summary><see cref="File"/> exists already and is used where it is: not made, never deleted.</summary>
    public bool Attached { get; init; }

    /// <summary><see cref="File"/> is a block device of the host (a physical disk, attached).</summary>
    public bool Physical { get; init; }
}
