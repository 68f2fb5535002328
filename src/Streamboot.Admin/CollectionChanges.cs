namespace Streamboot.Admin;

/// <summary>
/// A collection's fields as an admin typed them; null leaves a field as it
/// is. <see cref="DefaultVDisk"/> "none" clears the default.
/// <see cref="ReceivesUnknown"/> true makes this the collection unknown
/// devices fall into (taking it from whichever had it).
/// </summary>
public sealed record CollectionChanges(
    string? Name = null,
    string? Description = null,
    string? NamingPattern = null,
    string? UnknownDevicePolicy = null,
    string? DefaultVDisk = null,
    bool? ReceivesUnknown = null,
    string? BootProtocol = null,
    string? BootLoader = null);
