using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>
/// One opened export as the provider hands it to a connection: the device at
/// the top of its stack, what to advertise, and what to do when the session
/// ends. The connection calls <see cref="DisposeAsync"/> exactly once, which
/// runs <see cref="SessionEnded"/> and then disposes the device unless
/// <see cref="LeaveDeviceOpen"/> (a device shared by many sessions).
/// </summary>
public sealed class NbdExport : IAsyncDisposable
{
    private int _disposed;
    private int _minimumBlockSize = 1;
    private int _preferredBlockSize = 4096;

    public NbdExport(string name, IBlockDevice device)
    {
        Name = name;
        Device = device;
    }

    public string Name { get; }

    public IBlockDevice Device { get; }

    /// <summary>NBD_INFO_DESCRIPTION.</summary>
    public string? Description { get; init; }

    /// <summary>Serve read-only even if the device could write (NBD_FLAG_READ_ONLY).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Advertise NBD_FLAG_CAN_MULTI_CONN (the device must also say CanMultiConn):
    /// only when every connection to this export sees the others' flushed writes,
    /// i.e. they share one device, never per-connection write caches.
    /// </summary>
    public bool AllowMultiConn { get; init; }

    /// <summary>Minimum block size (a power of two, 1 to 64 KiB); requests not aligned to it get EINVAL from clients that asked for block sizes.</summary>
    public int MinimumBlockSize
    {
        get => _minimumBlockSize;
        init => _minimumBlockSize = IsPowerOfTwoUpTo(value, 64 * 1024) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "a power of two from 1 to 65536");
    }

    /// <summary>Preferred block size advertised in NBD_INFO_BLOCK_SIZE (a power of two, at least the minimum).</summary>
    public int PreferredBlockSize
    {
        get => _preferredBlockSize;
        init => _preferredBlockSize = IsPowerOfTwoUpTo(value, 32 * 1024 * 1024) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "a power of two from 1 to 32 MiB");
    }

    /// <summary>The session is over (runs once, before the device is disposed). Exceptions are logged, not thrown.</summary>
    public Func<NbdSessionSummary, ValueTask>? SessionEnded { get; init; }

    /// <summary>
    /// Fires when the export is taken from under its connections (its
    /// session moved to another server): the connection closes at once, even
    /// idle, without a reply to what is in flight, so the client resends it
    /// elsewhere. The default never fires.
    /// </summary>
    public CancellationToken Withdrawn { get; init; }

    /// <summary>Do not dispose <see cref="Device"/> at the end (the provider shares it).</summary>
    public bool LeaveDeviceOpen { get; init; }

    /// <summary>How the session ended; the connection sets it before disposing.</summary>
    internal NbdSessionSummary? Summary { get; set; }

    private static bool IsPowerOfTwoUpTo(int value, int max) => value > 0 && value <= max && (value & (value - 1)) == 0;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (SessionEnded is { } ended && Summary is { } summary)
            {
                await ended(summary).ConfigureAwait(false);
            }
        }
        finally
        {
            if (!LeaveDeviceOpen)
            {
                await Device.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
