namespace Streamboot.Storage.Import;

/// <summary>Disk image formats a vDisk can be imported from.</summary>
public enum ImportFormat
{
    Raw,
    Qcow2,
    Vhd,
    Vhdx,
    Vmdk,
    Vdi,
}
