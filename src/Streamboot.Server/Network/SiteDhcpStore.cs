using System.Net;
using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Server.Farm;

namespace Streamboot.Server.Network;

/// <summary>
/// Full-mode DHCP against the site database: leases in <c>dhcp_leases</c>
/// (a restarted server gives every client its address back) and fixed
/// addresses from device records (<c>streamboot device set NAME --ip ADDRESS</c>).
/// <para>
/// Every server of a site that runs full-mode DHCP on one network shares
/// this table, and the table decides who holds an address: an offer, a grant,
/// a release and a decline are each one conditional statement keyed by the
/// address (the primary key), so of two servers claiming one address for two
/// clients at the same moment, one statement writes and the other changes no
/// row and the server tries another address. The claim is
/// <c>INSERT ... ON CONFLICT (address) DO UPDATE ... WHERE</c> (SQLite 3.24+
/// and PostgreSQL): PostgreSQL locks the conflicting row and evaluates the
/// WHERE against its committed version, SQLite runs one writer at a time.
/// Times are compared with the calling server's clock: servers of a farm
/// need synchronized clocks (NTP), as they do for heartbeats.
/// </para>
/// </summary>
public sealed class SiteDhcpStore(SiteDatabase database, ServerIdentity identity, TimeProvider clock) : IDhcpLeaseStore, IDhcpReservations
{
    /// <summary>Records of one MAC looked at for its previous address; it has one per address it held, usually one or two.</summary>
    private const int RecordsPerMac = 8;

    private static readonly string s_offered = KebabCase.Of(DhcpLeaseState.Offered);
    private static readonly string s_bound = KebabCase.Of(DhcpLeaseState.Bound);
    private static readonly string s_declined = KebabCase.Of(DhcpLeaseState.Declined);

    public async ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var rows = await db.DhcpLeases.AsNoTracking().ToListAsync(cancellationToken);
        return [.. rows.Select(ToLease).OfType<DhcpLease>()];
    }

    public async ValueTask<IReadOnlyList<DhcpLease>> FindByMacAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var key = mac.ToString();
        var rows = await db.DhcpLeases.AsNoTracking()
            .Where(l => l.Mac == key)
            .OrderByDescending(l => l.ExpiresAt)
            .Take(RecordsPerMac)
            .ToListAsync(cancellationToken);
        return [.. rows.Select(ToLease).OfType<DhcpLease>()];
    }

    /// <summary>One statement, <see cref="DhcpClaimRule.MayReplace"/> in its WHERE; when it changes no row, the record that won is read back.</summary>
    public async ValueTask<DhcpClaim> ClaimAsync(DhcpLease lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var db = database.CreateContext();
        var address = lease.Address.ToString();
        var mac = lease.Mac.ToString();
        var state = KebabCase.Of(lease.State);
        var expires = lease.Expires.UtcDateTime;
        var hostName = lease.HostName;
        long? serverId = identity.Id == 0 ? null : identity.Id;
        var at = now.UtcDateTime;
        var updated = clock.GetUtcNow().UtcDateTime;
        if (database.Offline && !await HeldOfflineAsync(db, address, mac, cancellationToken))
        {
            // The database is unreachable: another server may give out a free
            // address at this moment too. A client keeps the address it holds
            // or is reserved for it; new ones wait for the database.
            var holder = await db.DhcpLeases.AsNoTracking().FirstOrDefaultAsync(l => l.Address == address, cancellationToken);
            return new DhcpClaim(false, holder is null ? null : ToLease(holder));
        }

        int written;
        using (await database.WriteTurnAsync(cancellationToken))
        {
            written = await db.Database.ExecuteSqlAsync(
                $"""
                INSERT INTO dhcp_leases (address, mac, state, expires_at, host_name, server_id, updated_at)
                VALUES ({address}, {mac}, {state}, {expires}, {hostName}, CAST({serverId} AS BIGINT), {updated})
                ON CONFLICT (address) DO UPDATE SET
                    mac = excluded.mac, state = excluded.state, expires_at = excluded.expires_at,
                    host_name = excluded.host_name, server_id = excluded.server_id, updated_at = excluded.updated_at
                WHERE dhcp_leases.expires_at <= {at}
                   OR (dhcp_leases.mac = excluded.mac
                       AND dhcp_leases.state <> {s_declined}
                       AND NOT (excluded.state = {s_offered} AND dhcp_leases.state = {s_bound}))
                """,
                cancellationToken);
        }

        if (written == 1)
        {
            return new DhcpClaim(true, lease);
        }

        var row = await db.DhcpLeases.AsNoTracking().FirstOrDefaultAsync(l => l.Address == address, cancellationToken);
        return new DhcpClaim(false, row is null ? null : ToLease(row));
    }

    public async ValueTask<bool> UpdateAsync(DhcpLease lease, IReadOnlyCollection<DhcpLeaseState> from, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var db = database.CreateContext();
        var address = lease.Address.ToString();
        var mac = lease.Mac.ToString();
        var states = from.Select(s => KebabCase.Of(s)).ToList();
        var state = KebabCase.Of(lease.State);
        var expires = lease.Expires.UtcDateTime;
        var hostName = lease.HostName;
        long? serverId = identity.Id == 0 ? null : identity.Id;
        var updated = clock.GetUtcNow().UtcDateTime;
        using var turn = await database.WriteTurnAsync(cancellationToken);
        var changed = await db.DhcpLeases
            .Where(l => l.Address == address && l.Mac == mac && states.Contains(l.State))
            .ExecuteUpdateAsync(
                u => u.SetProperty(l => l.State, state)
                    .SetProperty(l => l.ExpiresAt, expires)
                    .SetProperty(l => l.HostName, hostName)
                    .SetProperty(l => l.ServerId, serverId)
                    .SetProperty(l => l.UpdatedAt, updated),
                cancellationToken);
        return changed == 1;
    }

    public async ValueTask<IPAddress?> FindAddressAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var key = mac.ToString();
        var ip = await db.Devices.Where(d => d.Mac == key).Select(d => d.IpAddress).FirstOrDefaultAsync(cancellationToken);
        return ip is not null && IPAddress.TryParse(ip, out var address) ? address : null;
    }

    public async ValueTask<MacAddress?> FindOwnerAsync(IPAddress address, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var key = address.ToString();
        var mac = await db.Devices.Where(d => d.IpAddress == key).Select(d => d.Mac).FirstOrDefaultAsync(cancellationToken);
        return mac is not null && MacAddress.TryParse(mac, out var owner) ? owner : null;
    }

    /// <summary>A row as the protocol layer's lease; null for a row it cannot read (written by hand), which the claim statement still treats by its columns.</summary>
    private static async Task<bool> HeldOfflineAsync(StreambootDbContext db, string address, string mac, CancellationToken cancellationToken) =>
        await db.DhcpLeases.AnyAsync(l => l.Address == address && l.Mac == mac && l.State != s_declined, cancellationToken)
        || await db.Devices.AnyAsync(d => d.Mac == mac && d.IpAddress == address, cancellationToken);

    private static DhcpLease? ToLease(DhcpLeaseRow row) =>
        IPAddress.TryParse(row.Address, out var address) && MacAddress.TryParse(row.Mac, out var mac) && KebabCase.TryParse<DhcpLeaseState>(row.State, out var state)
            ? new DhcpLease(address, mac, state, new DateTimeOffset(row.ExpiresAt, TimeSpan.Zero)) { HostName = row.HostName }
            : null;
}
