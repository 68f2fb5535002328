namespace Streamboot.Data.Model;

/// <summary>One layer of a vDisk's chain; version N's image has version N-1 as its backing file.</summary>
public sealed class VDiskVersion
{
    public long Id { get; set; }

    public long VDiskId { get; set; }

    public VDisk? VDisk { get; set; }

    /// <summary>1 for the base image, counting up; unique per vDisk.</summary>
    public int Number { get; set; }

    /// <summary>Image file name inside the vDisk's store folder.</summary>
    public required string FileName { get; set; }

    public ImageFormat Format { get; set; }

    public VersionStage Stage { get; set; }

    public string? Description { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>
    /// SHA-256 of the image file's bytes (64 lower-case hex digits), recorded
    /// once the file no longer changes (imported, promoted out of
    /// maintenance, merged); null while it may still change. A replicated
    /// store serves a server's copy only when it hashes to this.
    /// </summary>
    public string? ContentHash { get; set; }

    /// <summary>The image file's length in bytes when it was hashed.</summary>
    public long? ContentLength { get; set; }

    public DateTime? HashedAt { get; set; }

    /// <summary>The backing file the qcow2 header names (the version below, in the same folder); null for a base.</summary>
    public string? BackingFile { get; set; }
}
