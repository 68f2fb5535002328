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
/// first counts the boot in <c>streamboot_boot_duration_seconds</c>. Best effort: a connection is
/// never refused because the time could not be written.
/// </summary>
internal sealed partial class LiveSessions
{
    /// <summary>The protocol only an OS speaks to its root disk here.</summary>
    internal const string RootProtocol = "nbd";

    /// <summary>Records, once per live session, that its boot's OS connected its root, when this connection is that.</summary>
    private async Task NoteRootAsync(LiveSession live, string protocol)
    {
        if (!string.Equals(protocol, RootProtocol, StringComparison.Ordinal))
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
            if (await records.RootConnectedAsync(live.Facts.SessionId, live.BootId) is { } took)
            {
                StreambootMetrics.BootDuration.Record(Math.Max(0, took.TotalSeconds));
            }
        }
        catch (Exception e) when (e is DbException or DbUpdateException or InvalidOperationException or TimeoutException)
        {
            LogRootNotRecorded(logger, live.Facts.SessionId, e.Message);
        }
    }

    [LoggerMessage(1111, LogLevel.Warning, "Session {SessionId}: the time its OS connected its root was not recorded: {Message}")]
    private static partial void LogRootNotRecorded(ILogger logger, long sessionId, string message);
}
