namespace Streamboot.Storage.Formats.Foreign;

/// <summary>Disk formats Streamboot imports by conversion (qemu-img), not natively.</summary>
public enum ForeignFormat
{
    /// <summary>Microsoft VHD (qemu calls it "vpc").</summary>
    Vhd,
    Vhdx,
    Vmdk,
    Vdi,
}
