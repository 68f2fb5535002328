namespace Streamboot.Admin;

/// <summary>
/// A collection's fields as an admin typed them; null leaves a field as it
/// is. <see cref="DefaultVDisk"/> "none" clears the default.
/// </summary>
public sealed record CollectionChanges(
    string? Name = null,
    string? Description = null,
    string? NamingPattern = null,
    string? UnknownDevicePolicy = null,
    string? DefaultVDisk = null);
