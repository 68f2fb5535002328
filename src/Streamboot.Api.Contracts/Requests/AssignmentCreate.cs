using System.Text.Json.Serialization;

namespace Streamboot.Api.Contracts.Requests;

/// <summary>A vDisk to assign to a device, as its default boot or as another entry of its menu.</summary>
public sealed record AssignmentCreate([property: JsonPropertyName("vdisk")] string VDisk, bool Default = false);
