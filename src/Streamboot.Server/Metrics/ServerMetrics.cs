using System.Diagnostics.Metrics;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp;
using Streamboot.Sessions;
using Streamboot.Server.Network;
using Streamboot.Telemetry;

namespace Streamboot.Server.Metrics;

/// <summary>
/// The gauges and totals of what this server composed, read when
/// <c>/metrics</c> is scraped: live sessions and their write caches, each
/// protocol's requests and bytes (NBD, iSCSI and HTTP count into
/// <see cref="StreambootMetrics"/>; TFTP's own statistics already count every
/// block), the shared read caches, DHCP messages and drops, TFTP transfers.
/// A meter of its own under the same name, made and disposed with the host:
/// its callbacks hold the host's services.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private static readonly DhcpMessageType[] s_received = [DhcpMessageType.Discover, DhcpMessageType.Request, DhcpMessageType.Decline, DhcpMessageType.Release, DhcpMessageType.Inform];
    private static readonly DhcpMessageType[] s_sent = [DhcpMessageType.Offer, DhcpMessageType.Ack, DhcpMessageType.Nak];
    private readonly Meter _meter = new(StreambootMetrics.MeterName);
    private readonly TftpService _tftp;
    private readonly DhcpService _dhcp;

    public ServerMetrics(SessionLayer sessions, TftpService tftp, DhcpService dhcp)
    {
        _tftp = tftp;
        _dhcp = dhcp;
        _meter.CreateObservableGauge("streamboot.sessions", () => (long)sessions.LiveCount, "{session}", "Device sessions this server streams now (a device's connections share one)");
        _meter.CreateObservableGauge("streamboot.write_cache.size", () => sessions.WriteCacheBytes, "By", "What the server-side write caches of live sessions weigh now (RAM and overflow, or overlay files)");
        _meter.CreateObservableCounter("streamboot.requests", Requests, "{request}", "Requests by protocol: NBD commands, SCSI commands, HTTP requests, TFTP read requests");
        _meter.CreateObservableCounter("streamboot.io", Bytes, "By", "Bytes by protocol and direction: read (sent to clients) and write (received to be written)");
        _meter.CreateObservableCounter("streamboot.read_cache.hits", () => StreambootMetrics.ReadCache.Hits, "{block}", "Blocks the shared read caches served from memory");
        _meter.CreateObservableCounter("streamboot.read_cache.misses", () => StreambootMetrics.ReadCache.Misses, "{block}", "Blocks the shared read caches read from the layer below");
        _meter.CreateObservableCounter("streamboot.dhcp.messages", DhcpMessages, "{message}", "DHCP messages received (parsed) and sent, by message type");
        _meter.CreateObservableCounter("streamboot.dhcp.dropped", DhcpDrops, "{message}", "DHCP datagrams left unanswered, by reason");
        _meter.CreateObservableCounter("streamboot.tftp.transfers", TftpTransfers, "{transfer}", "TFTP transfers ended, by outcome");
        InitializeCounters();
        _meter.CreateObservableGauge("streamboot.tftp.transfers.active", () => _tftp.Statistics?.ActiveTransfers ?? 0, "{transfer}", "TFTP transfers running now");
        _meter.CreateObservableCounter("streamboot.tftp.retransmissions", () => _tftp.Statistics?.Retransmissions ?? 0, "{window}", "TFTP windows sent again after a timeout");
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>
    /// Counters appear in the scrape at their first measurement: the boot
    /// counters start at 0 instead, so that rate() and the dashboard see a
    /// server that has not booted anyone yet.
    /// </summary>
    private static void InitializeCounters()
    {
        StreambootMetrics.BootsIssued.Add(0);
        StreambootMetrics.BootsStarted.Add(0);
        foreach (var outcome in (string[])["boot", "menu", "registration_menu", "queued", "refused"])
        {
            StreambootMetrics.BootScripts.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private IEnumerable<Measurement<long>> Requests()
    {
        var tftp = _tftp.Statistics;
        yield return Protocol(StreambootMetrics.NbdTraffic.Requests, StreambootMetrics.Nbd);
        yield return Protocol(StreambootMetrics.IscsiTraffic.Requests, StreambootMetrics.Iscsi);
        yield return Protocol(StreambootMetrics.HttpTraffic.Requests, StreambootMetrics.Http);
        yield return Protocol(tftp is null ? 0 : tftp.TransfersStarted + tftp.RequestsDropped, StreambootMetrics.Tftp);
    }

    private IEnumerable<Measurement<long>> Bytes()
    {
        yield return Protocol(StreambootMetrics.NbdTraffic.BytesRead, StreambootMetrics.Nbd, "read");
        yield return Protocol(StreambootMetrics.NbdTraffic.BytesWritten, StreambootMetrics.Nbd, "write");
        yield return Protocol(StreambootMetrics.IscsiTraffic.BytesRead, StreambootMetrics.Iscsi, "read");
        yield return Protocol(StreambootMetrics.IscsiTraffic.BytesWritten, StreambootMetrics.Iscsi, "write");
        yield return Protocol(StreambootMetrics.HttpTraffic.BytesRead, StreambootMetrics.Http, "read");
        yield return Protocol(_tftp.Statistics?.BytesSent ?? 0, StreambootMetrics.Tftp, "read");
    }

    private IEnumerable<Measurement<long>> DhcpMessages()
    {
        var counters = _dhcp.Counters;
        foreach (var type in s_received)
        {
            yield return new(counters?.ReceivedOfType(type) ?? 0, new("direction", "received"), new("type", MetricLabel.Of(type)));
        }

        foreach (var type in s_sent)
        {
            yield return new(counters?.Sent(type) ?? 0, new("direction", "sent"), new("type", MetricLabel.Of(type)));
        }
    }

    private IEnumerable<Measurement<long>> DhcpDrops()
    {
        var counters = _dhcp.Counters;
        foreach (var reason in Enum.GetValues<DhcpDropReason>())
        {
            yield return new(counters?.Dropped(reason) ?? 0, new KeyValuePair<string, object?>("reason", MetricLabel.Of(reason)));
        }
    }

    private IEnumerable<Measurement<long>> TftpTransfers()
    {
        var tftp = _tftp.Statistics;
        yield return Outcome(tftp?.TransfersCompleted ?? 0, "completed");
        yield return Outcome(tftp?.TransfersAbandoned ?? 0, "abandoned");
        yield return Outcome(tftp?.TransfersCancelledByClient ?? 0, "cancelled");
        yield return Outcome(tftp?.TransfersFailed ?? 0, "failed");
    }

    private static Measurement<long> Protocol(long value, string protocol) => new(value, new KeyValuePair<string, object?>("protocol", protocol));

    private static Measurement<long> Protocol(long value, string protocol, string direction) => new(value, new("protocol", protocol), new("direction", direction));

    private static Measurement<long> Outcome(long value, string outcome) => new(value, new KeyValuePair<string, object?>("outcome", outcome));
}
