using System.Diagnostics;
using System.Net;

namespace Streamboot.Protocols.Nbd.Limits;

/// <summary>
/// Connections open per client address (NbdServerOptions.MaxConnectionsPerAddress),
/// so one host cannot take every connection the server allows. IPv4 clients
/// reaching a dual-stack socket count under their IPv4 address; endpoints
/// that are not IP (a Unix socket handed in by a host) are not limited.
/// Refusals are logged at most once per address every <see cref="LogInterval"/>,
/// with the number refused meanwhile, so a flood cannot flood the log too.
/// </summary>
internal sealed class NbdAddressLimits
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly int _limit;
    private readonly Dictionary<IPAddress, Entry> _entries = [];

    public NbdAddressLimits(int limit) => _limit = limit;

    /// <summary>
    /// Counts a new connection from <paramref name="remote"/>, or refuses it.
    /// On refusal, <paramref name="refusedToLog"/> is the number of refusals to
    /// report now (this one included), or 0 when the log line is not due yet.
    /// </summary>
    public bool TryEnter(EndPoint? remote, out IPAddress? address, out int refusedToLog)
    {
        refusedToLog = 0;
        address = Key(remote);
        if (address is null)
        {
            return true;
        }

        lock (_entries)
        {
            if (!_entries.TryGetValue(address, out var entry))
            {
                entry = new Entry();
                _entries[address] = entry;
            }

            if (entry.Open < _limit)
            {
                entry.Open++;
                return true;
            }

            entry.Refused++;
            if (entry.LastLogged == 0 || Stopwatch.GetElapsedTime(entry.LastLogged) >= LogInterval)
            {
                refusedToLog = entry.Refused;
                entry.Refused = 0;
                entry.LastLogged = Stopwatch.GetTimestamp();
            }

            return false;
        }
    }

    /// <summary>Open connections from <paramref name="remote"/>'s address now.</summary>
    public int OpenFrom(EndPoint? remote)
    {
        var address = Key(remote);
        lock (_entries)
        {
            return address is not null && _entries.TryGetValue(address, out var entry) ? entry.Open : 0;
        }
    }

    public void Exit(IPAddress? address)
    {
        if (address is null)
        {
            return;
        }

        lock (_entries)
        {
            // An address with nothing open is forgotten (refusals happen only at the limit).
            if (_entries.TryGetValue(address, out var entry) && --entry.Open <= 0)
            {
                _entries.Remove(address);
            }
        }
    }

    private static IPAddress? Key(EndPoint? remote) => remote is IPEndPoint ip
        ? (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address)
        : null;

    private sealed class Entry
    {
        public int Open;
        public int Refused;
        public long LastLogged;
    }
}
