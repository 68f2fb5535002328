namespace Streamboot.Storage.BootFiles;

/// <summary>One section header: its name and where its bytes are in the file.</summary>
public sealed record PeSection(string Name, uint RawPointer, uint RawSize);
