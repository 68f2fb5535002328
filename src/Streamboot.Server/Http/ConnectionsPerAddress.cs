using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Streamboot.Telemetry;

namespace Streamboot.Server.Http;

/// <summary>
/// Kestrel connection middleware: at most <c>limit</c> open HTTP connections
/// from one address. A boot network's clients each need one or two (iPXE
/// fetching its script, kernel and disk); one machine opening thousands
/// would hold the server's sockets and memory. Connections over the limit
/// are closed at once, and the refusal logged at most once a minute per address.
/// </summary>
internal sealed partial class ConnectionsPerAddress(int limit, ILogger logger)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();
    private readonly ConcurrentDictionary<IPAddress, long> _lastLogged = new();

    public ConnectionDelegate Apply(ConnectionDelegate next) => async connection =>
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote)
        {
            await next(connection);
            return;
        }

        var address = ClientAddress.Normal(remote.Address);
        var count = _open.AddOrUpdate(address, 1, (_, n) => n + 1);
        try
        {
            if (count > limit)
            {
                StreambootMetrics.Refused(StreambootMetrics.Http, "too_many_connections_per_address");
                var now = Environment.TickCount64;
                if (now - _lastLogged.GetOrAdd(address, long.MinValue / 2) >= 60_000)
                {
                    _lastLogged[address] = now;
                    LogRefused(logger, address.ToString(), limit);
                }

                connection.Abort(new ConnectionAbortedException($"more than {limit} connections from one address"));
                return;
            }

            await next(connection);
        }
        finally
        {
            if (_open.AddOrUpdate(address, 0, (_, n) => n - 1) <= 0)
            {
                _open.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
            }
        }
    };

    [LoggerMessage(1010, LogLevel.Warning, "HTTP: refused connections from {Address}: it has {Limit} open (Streamboot:HttpMaxConnectionsPerAddress)")]
    private static partial void LogRefused(ILogger logger, string address, int limit);
}
