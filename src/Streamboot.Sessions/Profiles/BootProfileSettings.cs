using System.Globalization;

namespace Streamboot.Sessions.Profiles;

/// <summary>How boot profiles are recorded and replayed (see docs/boot-profiles.md).</summary>
/// <param name="Window">Reads of a boot's session this long after it opens are recorded; zero turns profiles off.</param>
/// <param name="MaxBytes">A profile holds at most this many bytes of blocks.</param>
/// <param name="MinBlocks">A recording with fewer distinct blocks is too short to be a boot and replaces nothing.</param>
/// <param name="ReplayConcurrency">Blocks a replay reads from storage at once.</param>
public sealed record BootProfileSettings(TimeSpan Window, long MaxBytes = 64L << 20, int MinBlocks = 16, int ReplayConcurrency = 8)
{
    public static BootProfileSettings Default { get; } = new(TimeSpan.FromSeconds(60));

    /// <summary><c>STREAMBOOT_BOOT_PROFILE_SECONDS</c> (0 turns profiles off) over the defaults.</summary>
    public static BootProfileSettings FromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("STREAMBOOT_BOOT_PROFILE_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? Default with { Window = TimeSpan.FromSeconds(seconds) }
            : Default;

    /// <summary>
    /// Test and benchmark only: <c>STREAMBOOT_STORAGE_READ_LATENCY_MS</c> delays every read of
    /// vDisk storage under the shared read cache, to emulate slow shared storage. Off when unset.
    /// </summary>
    public static TimeSpan StorageReadLatencyFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("STREAMBOOT_STORAGE_READ_LATENCY_MS"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.Zero;
}
