using Streamboot.Data.Model;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// What a running client's OS learns about itself (<c>/boot/identity</c>):
/// its name and machine id, its vDisks, and its boot's export and key.
/// </summary>
public sealed record DeviceIdentity(
    BootIdentity Device,
    bool Enabled,
    IReadOnlyList<string> VDisks,
    string? VDisk,
    string? Export,
    bool Live,
    WriteCacheMode? WriteCacheMode,
    string? Key)
{
    /// <summary>The farm's other running servers that may continue the boot if this one dies (empty outside a farm).</summary>
    public IReadOnlyList<Farm.FarmServer> Alternates { get; init; } = [];
}
