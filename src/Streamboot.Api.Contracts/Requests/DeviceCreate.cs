namespace Streamboot.Api.Contracts.Requests;

/// <summary>A device to add (<c>POST /devices</c>): its MAC and, optionally, every field <c>device add</c> takes.</summary>
public sealed record DeviceCreate(
    string Mac,
    string? Name = null,
    string? Collection = null,
    string? Description = null,
    string? Type = null,
    string? WriteCacheMode = null,
    bool? Enabled = null,
    bool? PersistentWriteCache = null,
    string? IpAddress = null,
    string? BootLoader = null);
