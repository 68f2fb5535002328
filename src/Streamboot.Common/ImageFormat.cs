namespace Streamboot;

/// <summary>
/// The image formats Streamboot reads and writes natively (others are
/// imported by conversion). One enum for every layer: the database stores it
/// as kebab-case text, storage opens files by it.
/// </summary>
public enum ImageFormat
{
    Raw,
    Qcow2,
}
