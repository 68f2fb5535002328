namespace Streamboot.Api.Contracts.Requests;

/// <summary>A collection to add, with the fields <c>collection add</c> takes.</summary>
public sealed record CollectionCreate(
    string Name,
    string? Description = null,
    string? NamingPattern = null,
    string? UnknownDevicePolicy = null,
    string? DefaultVDisk = null,
    bool? ReceivesUnknown = null,
    string? BootProtocol = null,
    string? BootLoader = null);
