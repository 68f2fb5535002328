namespace Streamboot.Protocols.Iscsi;

/// <summary>
/// Limits and tuning of an <see cref="IscsiServer"/>. The defaults suit a
/// boot server; every bound on what an initiator can make the server hold
/// is here, so a hostile initiator cannot grow it past them.
/// </summary>
public sealed class IscsiServerOptions
{
    /// <summary>TCP connections open at once; one beyond is closed right after accept.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>Connections still logging in from one address; more are closed at accept (a login flood from one host).</summary>
    public int MaxLoginsPerAddress { get; init; } = 16;

    /// <summary>A connection must finish its login (reach full feature phase) within this time.</summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A failed authentication is answered this much later: with
    /// <see cref="MaxLoginsPerAddress"/> it holds one address to a few guesses
    /// a second (each guess also costs the session layer a look-up).
    /// </summary>
    public TimeSpan FailedLoginDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Bytes of login or text keys one request may carry over its continued PDUs.</summary>
    public int MaxTextLength { get; init; } = 64 * 1024;

    /// <summary>MaxConnections this target agrees to per session (MC/S).</summary>
    public int MaxConnectionsPerSession { get; init; } = 4;

    /// <summary>Our MaxRecvDataSegmentLength: the largest data segment an initiator may send.</summary>
    public int MaxRecvDataSegmentLength { get; init; } = 256 * 1024;

    /// <summary>The largest MaxBurstLength agreed (bytes of one R2T's solicited data, held in memory per burst).</summary>
    public int MaxBurstLength { get; init; } = 1024 * 1024;

    /// <summary>The largest FirstBurstLength agreed (unsolicited data per command).</summary>
    public int FirstBurstLength { get; init; } = 64 * 1024;

    /// <summary>InitialR2T this target asks for: false accepts unsolicited Data-Out (faster writes).</summary>
    public bool InitialR2T { get; init; }

    /// <summary>ImmediateData this target accepts.</summary>
    public bool ImmediateData { get; init; } = true;

    /// <summary>The largest MaxOutstandingR2T agreed (R2Ts of one command in flight).</summary>
    public int MaxOutstandingR2T { get; init; } = 1;

    /// <summary>Whether CRC32C header and data digests are agreed to when asked for.</summary>
    public bool AllowDigests { get; init; } = true;

    /// <summary>
    /// Commands a session may have in flight (the CmdSN window, MaxCmdSN -
    /// ExpCmdSN + 1 when idle): the bound on a session's queued work.
    /// </summary>
    public int CommandWindow { get; init; } = 128;

    /// <summary>Immediate commands (not counted in the window) one session may have in flight; more are rejected.</summary>
    public int MaxImmediateCommands { get; init; } = 16;

    /// <summary>
    /// The longest transfer of one READ or WRITE (Block Limits VPD MAXIMUM
    /// TRANSFER LENGTH), in bytes. It costs no memory: reads are sent in
    /// pieces and writes received burst by burst.
    /// </summary>
    public int MaxTransferLength { get; init; } = 64 * 1024 * 1024;

    /// <summary>Solicited bursts (R2Ts) one connection has outstanding at once; more commands wait their turn, so their buffers do too.</summary>
    public int MaxBurstsPerConnection { get; init; } = 8;

    /// <summary>Bytes of replies one connection may have queued for its socket before its reads wait for the socket to drain.</summary>
    public int MaxQueuedReplyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>A connection silent this long gets a NOP-In ping; zero turns pings off.</summary>
    public TimeSpan NopInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A ping not answered within this time ends the connection (the initiator is gone).</summary>
    public TimeSpan NopTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Bytes read from the socket at once (and the largest header plus small data kept between reads).</summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of its range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLoginsPerAddress, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTextLength, 8192);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerSession, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRecvDataSegmentLength, 512);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRecvDataSegmentLength, IscsiProtocol.MaxDataSegmentLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBurstLength, 512);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxBurstLength, IscsiProtocol.MaxDataSegmentLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(FirstBurstLength, 512);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(FirstBurstLength, MaxBurstLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutstandingR2T, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(CommandWindow, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CommandWindow, 1 << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxImmediateCommands, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTransferLength, 64 * 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBurstsPerConnection, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedReplyBytes, 64 * 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReceiveBufferSize, 4096);
        ArgumentOutOfRangeException.ThrowIfNegative(NopInterval.Ticks);
        ArgumentOutOfRangeException.ThrowIfNegative(FailedLoginDelay.Ticks);
        ArgumentOutOfRangeException.ThrowIfLessThan(NopTimeout, TimeSpan.FromSeconds(1));
    }
}
