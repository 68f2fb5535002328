namespace Streamboot.Admin;

/// <summary>
/// A device's fields as an admin typed them; null leaves a field as it is.
/// <see cref="WriteCacheMode"/> "inherit" removes the device's override so the
/// vDisk's mode applies; <see cref="IpAddress"/> "none" removes its reserved address;
/// <see cref="BootLoader"/> "inherit" removes its own choice so its collection's applies.
/// </summary>
public sealed record DeviceChanges(
    string? Name = null,
    string? Mac = null,
    string? Collection = null,
    string? Description = null,
    string? Type = null,
    string? WriteCacheMode = null,
    bool? Enabled = null,
    bool? PersistentWriteCache = null,
    string? IpAddress = null,
    string? BootLoader = null);
