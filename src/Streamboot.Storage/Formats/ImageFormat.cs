namespace Streamboot.Storage.Formats;

/// <summary>Image formats Streamboot reads and writes natively.</summary>
public enum ImageFormat
{
    Raw,
    Qcow2,
}
