using System.Text.Json.Serialization;

namespace Streamboot.Api.Contracts.Requests;

/// <summary>A VM's disk to capture as a vDisk, or as the next version of one (<c>vm capture</c>).</summary>
public sealed record VmCapture(
    [property: JsonPropertyName("vdisk")] string VDisk,
    bool NewVersion = false,
    string? Stage = null,
    string? Format = null,
    string? Access = null,
    string? WriteCacheMode = null,
    string? Description = null);
