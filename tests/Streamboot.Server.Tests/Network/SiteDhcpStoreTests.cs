using System.Collections.Concurrent;
using System.Net;
using Npgsql;
using Streamboot.Data;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Server.Farm;
using Streamboot.Server.Network;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Network;

/// <summary>
/// The lease table as the one judge of who holds an address: two stores (two
/// servers' connections) on one database race for the same addresses, and
/// the claim statement's WHERE says what DhcpClaimRule says, on PostgreSQL
/// (a farm) and SQLite (one server).
/// </summary>
public sealed class SiteDhcpStoreTests : IDisposable
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new("dhcp-store");

    public void Dispose() => _folder.Dispose();

    public static TheoryData<string> Providers => ["postgresql", "sqlite"];

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Racing_claims_from_two_servers_never_give_one_address_to_two_macs(string provider)
    {
        var (one, two) = await TwoServersAsync(provider);
        const int Addresses = 24;
        const int ClientsPerServer = 60;
        var won = new ConcurrentDictionary<string, ConcurrentBag<MacAddress>>();
        using var start = new ManualResetEventSlim();

        // Every client of both servers walks the same addresses in the same
        // order at the same moment, as two servers' scans for a free address do.
        var clients = Enumerable.Range(0, 2 * ClientsPerServer).Select(i => Task.Run(async () =>
        {
            var store = i % 2 == 0 ? one : two;
            var mac = MacAddress.Parse($"02:77:00:00:{i / 256:x2}:{i % 256:x2}");
            start.Wait();
            for (var host = 1; host <= Addresses; host++)
            {
                var offer = new DhcpLease(IPAddress.Parse($"10.77.0.{host}"), mac, DhcpLeaseState.Offered, s_now.AddSeconds(60));
                var claim = await store.ClaimAsync(offer, s_now, default);
                if (claim.Claimed)
                {
                    won.GetOrAdd(offer.Address.ToString(), _ => []).Add(mac);
                    return;
                }

                Assert.NotNull(claim.Current);
                Assert.NotEqual(mac, claim.Current.Mac);
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(clients);

        Assert.Equal(Addresses, won.Count);
        foreach (var (address, macs) in won)
        {
            Assert.True(macs.Count == 1, $"{address} was claimed by {macs.Count} clients: {string.Join(", ", macs)}");
        }

        var rows = await one.LoadAllAsync(default);
        Assert.Equal(Addresses, rows.Count);
        foreach (var row in rows)
        {
            Assert.Equal(Assert.Single(won[row.Address.ToString()]), row.Mac);
        }

        Assert.Equal(Addresses, rows.Select(r => r.Mac).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Racing_requests_for_one_address_bind_it_to_one_mac(string provider)
    {
        var (one, two) = await TwoServersAsync(provider);
        var address = IPAddress.Parse("10.77.0.9");
        var winners = new ConcurrentBag<MacAddress>();
        using var start = new ManualResetEventSlim();
        var requests = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            var mac = MacAddress.Parse($"02:78:00:00:00:{i:x2}");
            start.Wait();
            var bound = new DhcpLease(address, mac, DhcpLeaseState.Bound, s_now.AddHours(1));
            if ((await (i % 2 == 0 ? one : two).ClaimAsync(bound, s_now, default)).Claimed)
            {
                winners.Add(mac);
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(requests);

        var winner = Assert.Single(winners);
        Assert.Equal(winner, Assert.Single(await two.LoadAllAsync(default)).Mac);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task The_claim_statement_follows_the_claim_rule(string provider)
    {
        var (one, two) = await TwoServersAsync(provider);
        var a = MacAddress.Parse("02:79:00:00:00:0a");
        var b = MacAddress.Parse("02:79:00:00:00:0b");
        var x = IPAddress.Parse("10.79.0.10");
        DhcpLease Lease(MacAddress mac, DhcpLeaseState state, TimeSpan from) => new(x, mac, state, s_now + from) { HostName = "h" };

        Assert.True((await one.ClaimAsync(Lease(a, DhcpLeaseState.Offered, TimeSpan.FromSeconds(60)), s_now, default)).Claimed);
        // Held for a: b cannot have it, a can (again, and bound).
        var lost = await two.ClaimAsync(Lease(b, DhcpLeaseState.Offered, TimeSpan.FromSeconds(60)), s_now, default);
        Assert.False(lost.Claimed);
        Assert.Equal(a, lost.Current!.Mac);
        Assert.Equal(DhcpLeaseState.Offered, lost.Current.State);
        Assert.True((await two.ClaimAsync(Lease(a, DhcpLeaseState.Offered, TimeSpan.FromSeconds(60)), s_now, default)).Claimed);
        Assert.True((await two.ClaimAsync(Lease(a, DhcpLeaseState.Bound, TimeSpan.FromHours(1)), s_now, default)).Claimed);

        // An offer never turns a's bound lease back into an offer.
        var reboot = await one.ClaimAsync(Lease(a, DhcpLeaseState.Offered, TimeSpan.FromSeconds(60)), s_now, default);
        Assert.False(reboot.Claimed);
        Assert.Equal(DhcpLeaseState.Bound, reboot.Current!.State);
        Assert.Equal(s_now.AddHours(1), reboot.Current.Expires);

        // Expired (a second after its end, and exactly at it): anyone's.
        Assert.False((await one.ClaimAsync(Lease(b, DhcpLeaseState.Bound, TimeSpan.FromHours(2)), s_now.AddMinutes(59), default)).Claimed);
        Assert.True((await one.ClaimAsync(Lease(b, DhcpLeaseState.Offered, TimeSpan.FromMinutes(61)), s_now.AddHours(1), default)).Claimed);

        // Updates only touch the same MAC's record in the given states.
        Assert.False(await two.UpdateAsync(Lease(a, DhcpLeaseState.Released, TimeSpan.Zero), [DhcpLeaseState.Offered], default));
        Assert.False(await two.UpdateAsync(Lease(b, DhcpLeaseState.Released, TimeSpan.Zero), [DhcpLeaseState.Bound], default));
        Assert.True(await two.UpdateAsync(Lease(b, DhcpLeaseState.Declined, TimeSpan.FromMinutes(70)), [DhcpLeaseState.Bound, DhcpLeaseState.Offered], default));

        // Declined: nobody's until the quarantine ends, not even the decliner's.
        Assert.False((await one.ClaimAsync(Lease(b, DhcpLeaseState.Bound, TimeSpan.FromHours(2)), s_now.AddMinutes(65), default)).Claimed);
        Assert.False((await one.ClaimAsync(Lease(a, DhcpLeaseState.Bound, TimeSpan.FromHours(2)), s_now.AddMinutes(65), default)).Claimed);
        Assert.True((await one.ClaimAsync(Lease(a, DhcpLeaseState.Bound, TimeSpan.FromHours(2)), s_now.AddMinutes(71), default)).Claimed);

        var mine = Assert.Single(await one.FindByMacAsync(a, default));
        Assert.Equal(x, mine.Address);
        Assert.Equal("h", mine.HostName);
        Assert.Empty(await one.FindByMacAsync(b, default));
    }

    /// <summary>Two stores as two servers have them: each its own database handle, connection pool and server row.</summary>
    [Fact]
    public async Task While_the_database_is_down_a_client_keeps_its_address_and_a_new_client_waits()
    {
        var location = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        var database = await SiteDatabase.OpenAsync(location);
        var identity = new ServerIdentity { Name = "one" };
        await using (var db = database.CreateContext())
        {
            var row = new Data.Model.Server { Name = "one", StartedAt = s_now.UtcDateTime, LastHeartbeatAt = s_now.UtcDateTime };
            db.Servers.Add(row);
            await db.SaveChangesAsync();
            identity.Id = row.Id;
        }

        var known = MacAddress.Parse("02:77:00:00:01:01");
        var stranger = MacAddress.Parse("02:77:00:00:01:02");
        var held = IPAddress.Parse("10.77.0.10");
        var free = IPAddress.Parse("10.77.0.11");
        var online = new SiteDhcpStore(database, identity, TimeProvider.System);
        Assert.True((await online.ClaimAsync(new DhcpLease(held, known, DhcpLeaseState.Bound, s_now.AddHours(1)), s_now, default)).Claimed);

        var snapshot = new Data.Outage.SiteSnapshot(database, _folder.Combine("offline", "one.db"), () => identity.Id, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await snapshot.OpenAsync(default);
        await snapshot.RefreshAsync(default);
        await snapshot.GoOfflineForTestAsync(default);
        var serving = new SiteDhcpStore(database.ServingFrom(snapshot), identity, TimeProvider.System);

        // The holder renews; nobody is given a free address another server might give out too.
        Assert.True((await serving.ClaimAsync(new DhcpLease(held, known, DhcpLeaseState.Bound, s_now.AddHours(2)), s_now.AddMinutes(30), default)).Claimed);
        var refused = await serving.ClaimAsync(new DhcpLease(free, stranger, DhcpLeaseState.Offered, s_now.AddMinutes(1)), s_now.AddMinutes(30), default);
        Assert.False(refused.Claimed);
        Assert.Null(refused.Current);
        Assert.False((await serving.ClaimAsync(new DhcpLease(held, stranger, DhcpLeaseState.Offered, s_now.AddMinutes(1)), s_now.AddMinutes(30), default)).Claimed);

        // Back online, the free address is free.
        Assert.True(await snapshot.TryReturnAsync(default));
        Assert.True((await serving.ClaimAsync(new DhcpLease(free, stranger, DhcpLeaseState.Offered, s_now.AddMinutes(1)), s_now.AddMinutes(30), default)).Claimed);
    }

    private async Task<(SiteDhcpStore One, SiteDhcpStore Two)> TwoServersAsync(string provider)
    {
        var location = provider == "postgresql"
            ? await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync()
            : DatabaseLocation.ForSqliteFile(_folder.Combine("site.db"));
        return (await StoreAsync(location, "one"), await StoreAsync(location, "two"));
    }

    private static async Task<SiteDhcpStore> StoreAsync(DatabaseLocation location, string name)
    {
        if (location.Provider == DatabaseProvider.PostgreSql)
        {
            location = location with { ConnectionString = new NpgsqlConnectionStringBuilder(location.ConnectionString) { ApplicationName = name }.ConnectionString };
        }

        var database = await SiteDatabase.OpenAsync(location);
        var identity = new ServerIdentity { Name = name };
        await using (var db = database.CreateContext())
        {
            var row = new Data.Model.Server { Name = name, StartedAt = s_now.UtcDateTime, LastHeartbeatAt = s_now.UtcDateTime };
            db.Servers.Add(row);
            await db.SaveChangesAsync();
            identity.Id = row.Id;
        }

        return new SiteDhcpStore(database, identity, TimeProvider.System);
    }
}
