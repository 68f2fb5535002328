namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>Header extension types (qcow2.txt "Header extensions").</summary>
public enum Qcow2HeaderExtensionType : uint
{
    End = 0x00000000,
    BackingFileFormat = 0xe2792aca,
    FeatureNameTable = 0x6803f857,
    Bitmaps = 0x23852875,
    FullDiskEncryption = 0x0537be77,
    ExternalDataFile = 0x44415441,
}
