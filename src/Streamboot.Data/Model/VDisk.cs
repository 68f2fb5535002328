namespace Streamboot.Data.Model;

/// <summary>A virtual disk: a chain of image versions that clients boot.</summary>
public sealed class VDisk
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string? Description { get; set; }

    /// <summary>Folder that holds the vDisk's image files (absolute, or relative to the data folder).</summary>
    public required string StorePath { get; set; }

    public long SizeBytes { get; set; }

    public ImageFormat Format { get; set; }

    public AccessMode AccessMode { get; set; } = AccessMode.Standard;

    public WriteCacheMode WriteCacheMode { get; set; } = WriteCacheMode.ServerDisk;

    /// <summary>Serve the read-only view of production (<c>VDISK</c>) to anyone who asks, without a boot's key.</summary>
    public bool AnonymousReads { get; set; } = true;

    /// <summary>How its devices boot it (a collection's own setting wins); null: nbd.</summary>
    public BootProtocol? BootProtocol { get; set; }

    public DateTime CreatedAt { get; set; }

    public List<VDiskVersion> Versions { get; } = [];

    public List<Assignment> Assignments { get; } = [];
}
