using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Streamboot.Vms.Media;

/// <summary>
/// Recognises an ISO 9660 image (ECMA-119) by its volume descriptor set:
/// from sector 16 on, 2048-byte descriptors each start with a type byte and
/// the identifier "CD001"; the set holds a primary volume descriptor (type
/// 1) and ends with a terminator (type 255). Installer ISOs of Linux and
/// Windows (UDF with an ISO 9660 bridge) all have one.
/// </summary>
public static class Iso9660Image
{
    private const int SectorSize = 2048;
    private const int FirstDescriptorSector = 16;
    private const byte PrimaryVolumeDescriptor = 1;
    private const byte SetTerminator = 255;

    // A real image has a handful of descriptors (primary, boot record,
    // Joliet's supplementary); stop looking long before a bogus file ends.
    private const int MaxDescriptors = 32;

    /// <summary>Checks <paramref name="path"/>; the volume identifier on success, or one line saying what is wrong.</summary>
    public static bool TryCheck(string path, [NotNullWhen(true)] out string? volumeId, [NotNullWhen(false)] out string? error)
    {
        volumeId = null;
        if (Directory.Exists(path))
        {
            error = $"{path} is a folder, not an ISO image";
            return false;
        }

        if (!File.Exists(path))
        {
            error = $"{path} does not exist";
            return false;
        }

        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = RandomAccess.GetLength(file);
            var sector = new byte[SectorSize];
            for (var i = 0; i < MaxDescriptors; i++)
            {
                long offset = (FirstDescriptorSector + i) * (long)SectorSize;
                if (offset + SectorSize > length || RandomAccess.Read(file, sector, offset) < SectorSize)
                {
                    break;
                }

                if (!sector.AsSpan(1, 5).SequenceEqual("CD001"u8))
                {
                    break;
                }

                if (sector[0] == PrimaryVolumeDescriptor)
                {
                    // Volume identifier: d-characters at bytes 40-71, padded with spaces.
                    volumeId = Encoding.ASCII.GetString(sector, 40, 32).TrimEnd(' ', '\0');
                    error = null;
                    return true;
                }

                if (sector[0] == SetTerminator)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read {path}: {e.Message}";
            return false;
        }

        error = $"{path} is not an ISO 9660 image (no primary volume descriptor at sector 16); give the installer's .iso file";
        return false;
    }
}
