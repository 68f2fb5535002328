using System.Text.Json.Serialization;

namespace Streamboot.Api.Contracts.Requests;

/// <summary>A boot of a device to issue (<c>session key</c>): which of its vDisks, when it has several.</summary>
public sealed record BootCreate([property: JsonPropertyName("vdisk")] string? VDisk = null);
