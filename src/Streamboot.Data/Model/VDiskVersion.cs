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
}
