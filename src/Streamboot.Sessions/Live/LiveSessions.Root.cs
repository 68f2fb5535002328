using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Streamboot.Telemetry;

namespace Streamboot.Sessions.Live;

/// <summary>
/// When a boot's OS connected its root: its first NBD connection, which only
/// the client boot component makes (iPXE speaks HTTP and iSCSI, never NBD).
/// For a kernel and initrd boot that is the disk's first open; a SAN boot
/// over HTTP opens the disk from iPXE first and connects the root after its
/// own boot loader, kernel and initramfs have run. That is where a boot's
/// duration ends (<c>SessionView.BootSeconds</c>), so it is written once per
/// boot, on the boot's row and the session's, and the server that wrote it
/// first counts the boot in <c>streamboot_boot_duration_seconds</c>. A
/// session opened by its root connection records it in the open's own write
/// (<see cref="SessionRecords.OpenAsync"/>); a later connection (a SAN
/// boot's OS after its firmware) here, best effort: such a connection is
/// never refused because the time could not be written.
/// </summary>
internal sealed partial class LiveSessions
{
    /// <summary>The protocol only an OS speaks to its root disk here.</summary>
    internal const string RootProtocol = "nbd";

    /// <summary>Records, once per live session, that its boot's OS connected its root, when this connection is that.</summary>
    private async Task NoteRootAsync(LiveSession live, string protocol)
    {
        if (!IsRoot(protocol))
        {
            return;
        }

        lock (_lock)
        {
            if (live.RootConnected)
            {
                return;
            }

            live.RootConnected = true;
        }

        try
        {
            RecordBootDuration(await records.RootConnectedAsync(live.Facts.SessionId, live.BootId, live.BootIssuedAt));
        }
        catch (Exception e) when (e is DbException or DbUpdateException or InvalidOperationException or TimeoutException)
        {
            LogRootNotRecorded(logger, live.Facts.SessionId, e.Message);
        }
    }

    /// <summary>Whether a connection of this protocol is an OS connecting its root.</summary>
    private static bool IsRoot(string protocol) => string.Equals(protocol, RootProtocol, StringComparison.Ordinal);

    /// <summary>Counts a boot's whole duration, when this server recorded its root first (the site's clock; never below zero).</summary>
    private static void RecordBootDuration(TimeSpan? took)
    {
        if (took is { } duration)
        {
            StreambootMetrics.BootDuration.Record(Math.Max(0, duration.TotalSeconds));
        }
    }

    [LoggerMessage(1111, LogLevel.Warning, "Session {SessionId}: the time its OS connected its root was not recorded: {Message}")]
    private static partial void LogRootNotRecorded(ILogger logger, long sessionId, string message);
}
