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
/// </summary>
public sealed class SiteDhcpStore(SiteDatabase database, ServerIdentity identity, TimeProvider clock) : IDhcpLeaseStore, IDhcpReservations
{
    public async ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var rows = await db.DhcpLeases.AsNoTracking().ToListAsync(cancellationToken);
        var leases = new List<DhcpLease>(rows.Count);
        foreach (var row in rows)
        {
            if (IPAddress.TryParse(row.Address, out var address) && MacAddress.TryParse(row.Mac, out var mac) && Enum.TryParse<DhcpLeaseState>(row.State, ignoreCase: true, out var state))
            {
                leases.Add(new DhcpLease(address, mac, state, new DateTimeOffset(row.ExpiresAt, TimeSpan.Zero)) { HostName = row.HostName });
            }
        }

        return leases;
    }

    public async ValueTask SaveAsync(DhcpLease lease, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var key = lease.Address.ToString();
        var row = await db.DhcpLeases.FirstOrDefaultAsync(l => l.Address == key, cancellationToken);
        if (row is null)
        {
            row = new DhcpLeaseRow { Address = key, Mac = "", State = "" };
            db.DhcpLeases.Add(row);
        }

        row.Mac = lease.Mac.ToString();
        row.State = KebabCase.Of(lease.State);
        row.ExpiresAt = lease.Expires.UtcDateTime;
        row.HostName = lease.HostName;
        row.ServerId = identity.Id == 0 ? null : identity.Id;
        row.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
    }

    public async ValueTask DeleteAsync(IPAddress address, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var key = address.ToString();
        await db.DhcpLeases.Where(l => l.Address == key).ExecuteDeleteAsync(cancellationToken);
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
}
