using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Tests.Support;

namespace Streamboot.Sessions.Tests.Farm;

/// <summary>
/// Where a farm's boot scripts send new boots: load per weight, drained,
/// down and addressless servers skipped, the booting limit and its queue,
/// subnet affinity. Server a decides; b and c are rows as their heartbeats
/// keep them. On SQLite and PostgreSQL.
/// </summary>
public abstract class PlacementTests : SessionSiteTests
{
    private readonly Dictionary<string, long> _ids = [];
    private SessionLayer? _farm;

    private SessionLayer Farm => _farm ?? throw new InvalidOperationException("not initialised");

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Assert.True((await new VDiskAdmin(Site).CreateAsync("gold", 16L << 20, format: "qcow2")).Ok);
        Assert.True((await new CollectionAdmin(Site).AddAsync("farm", new CollectionChanges(NamingPattern: "PC-###", UnknownDevicePolicy: "auto-register", DefaultVDisk: "gold", ReceivesUnknown: true))).Ok);
        await using (var db = Site.Database.CreateContext())
        {
            foreach (var (name, address) in new[] { ("a", "10.0.0.1/24"), ("b", "10.0.1.2/24"), ("c", "10.0.0.3/24") })
            {
                var row = new Data.Model.Server { Name = name, Addresses = address, HttpPort = 8080, NbdPort = 10809, StartedAt = Site.UtcNow, LastHeartbeatAt = Site.UtcNow };
                db.Servers.Add(row);
                await db.SaveChangesAsync();
                _ids[name] = row.Id;
            }
        }

        _farm = new SessionLayer(Site, Settings, ProfileSettings, () => _ids["a"], Log);
    }

    public override async Task DisposeAsync()
    {
        if (_farm is not null)
        {
            await _farm.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task Forty_boots_split_by_weight_and_each_names_the_others_for_failover()
    {
        await SetAsync("c", s => s.Weight = 2);
        var counts = new Dictionary<string, int>();
        for (var i = 1; i <= 40; i++)
        {
            var boot = Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(i), Lab)));
            var server = boot.Placement.Server?.Name ?? "a";
            counts[server] = counts.GetValueOrDefault(server) + 1;
            Assert.Equal(2, boot.Placement.Alternates.Count);
            Assert.DoesNotContain(boot.Placement.Alternates, s => s.Name == server);
        }

        Assert.Equal(10, counts["a"]);
        Assert.Equal(10, counts["b"]);
        Assert.Equal(20, counts["c"]);
        await using var db = Site.Database.CreateContext();
        Assert.Equal(20, await db.Boots.CountAsync(b => b.ServerId == _ids["c"]));
    }

    [Fact]
    public async Task Drained_down_and_addressless_servers_get_no_boots_and_are_no_alternates()
    {
        await SetAsync("b", s => s.Enabled = false);
        await SetAsync("c", s => s.LastHeartbeatAt = Site.UtcNow.AddMinutes(-5));
        for (var i = 1; i <= 5; i++)
        {
            var boot = Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(i), Lab)));
            Assert.Null(boot.Placement.Server);
            Assert.Empty(boot.Placement.Alternates);
        }

        await SetAsync("c", s => { s.LastHeartbeatAt = Site.UtcNow; s.Addresses = null; });
        Assert.Null(Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(6), Lab))).Placement.Server);

        // Its own row's heartbeat late (the database did not take it): this server is answering, so it is alive.
        await SetAsync("a", s => s.LastHeartbeatAt = Site.UtcNow.AddMinutes(-5));
        Assert.Null(Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(8), Lab))).Placement.Server);

        await SetAsync("a", s => s.Enabled = false);
        var none = Assert.IsType<BootRefused>(await Farm.DecideAsync(new BootRequest(Mac(7), Lab)));
        Assert.Equal(BootRefusal.NoServer, none.Reason);
        Assert.Contains("server list", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Beyond_every_servers_booting_limit_clients_queue_first_come_first_served()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            await SetAsync(name, s => s.MaxBooting = 1);
        }

        for (var i = 1; i <= 3; i++)
        {
            Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(i), Lab)));
        }

        Assert.Equal(0, Assert.IsType<BootQueued>(await Farm.DecideAsync(new BootRequest(Mac(4), Lab))).Ahead);
        Assert.Equal(1, Assert.IsType<BootQueued>(await Farm.DecideAsync(new BootRequest(Mac(5), Lab))).Ahead);
        Assert.Equal(0, Assert.IsType<BootQueued>(await Farm.DecideAsync(new BootRequest(Mac(4), Lab))).Ahead);

        // One slot frees (its boot leaves the booting window): the first waiter gets it, not the second.
        await using (var db = Site.Database.CreateContext())
        {
            var oldest = await db.Boots.OrderBy(b => b.Id).FirstAsync();
            oldest.IssuedAt = Site.UtcNow.AddHours(-1);
            await db.SaveChangesAsync();
        }

        Assert.IsType<BootQueued>(await Farm.DecideAsync(new BootRequest(Mac(5), Lab)));
        Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(4), Lab)));
    }

    [Fact]
    public async Task A_boot_whose_session_ended_frees_its_booting_slot_and_a_running_one_does_not()
    {
        await SetAsync("b", s => s.Enabled = false);
        await SetAsync("c", s => s.Enabled = false);
        await SetAsync("a", s => s.MaxBooting = 1);
        var first = Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(1), Lab)));
        Assert.IsType<BootQueued>(await Farm.DecideAsync(new BootRequest(Mac(2), "10.0.0.20")));

        // Its client is streaming: still booting, whatever it has read.
        var view = await Farm.OpenAsync(new Streamboot.Sessions.Views.ViewRequest($"gold/{first.Device.Name}/{first.Key}", "nbd", Lab + ":40000"));
        Assert.True(view.Ok, view.Ok ? null : view.Error.Message);
        await view.Value.Device.ReadAsync(0, new byte[4096]);
        Assert.IsType<BootQueued>(await Farm.DecideAsync(new BootRequest(Mac(2), "10.0.0.20")));

        // Its client left: the slot is free long before the booting window ends.
        await view.Value.DisposeAsync();
        await using (var db = Site.Database.CreateContext())
        {
            Assert.NotNull((await db.Boots.SingleAsync(b => b.Key == first.Key)).FinishedAt);
        }

        Assert.IsType<BootVDisk>(await Farm.DecideAsync(new BootRequest(Mac(2), "10.0.0.20")));
        Assert.Equal(1, Assert.Single(await new SiteQueries(Site).ServersAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90)), s => s.Name == "a").Booting);
    }

    [Fact]
    public async Task With_subnet_affinity_a_client_goes_to_a_server_on_its_subnet()
    {
        await using var near = new SessionLayer(Site, Settings with { SubnetAffinity = true }, ProfileSettings, () => _ids["a"], Log);
        for (var i = 1; i <= 4; i++)
        {
            var boot = Assert.IsType<BootVDisk>(await near.DecideAsync(new BootRequest(Mac(i), "10.0.1.50")));
            Assert.Equal("b", boot.Placement.Server?.Name);
            Assert.Equal("10.0.1.2", boot.Placement.Server?.Host);
        }
    }

    [Fact]
    public async Task Boots_placed_in_one_transaction_count_each_other_against_every_limit()
    {
        await SetAsync("a", s => s.MaxBooting = 2);
        await SetAsync("b", s => s.MaxBooting = 3);
        await SetAsync("c", s => s.MaxBooting = 4);
        long vdiskId, versionId;
        await using (var db = Site.Database.CreateContext())
        {
            var version = await db.VDiskVersions.Include(v => v.VDisk).SingleAsync(v => v.VDisk!.Name == "gold");
            (vdiskId, versionId) = (version.VDiskId, version.Id);
        }

        var devices = new List<long>();
        for (var i = 1; i <= 15; i++)
        {
            var added = await new DeviceAdmin(Site).AddAsync(Mac(i), new DeviceChanges(Collection: "farm"), vdiskId, CancellationToken.None);
            Assert.True(added.Ok);
        }

        await using (var db = Site.Database.CreateContext())
        {
            devices.AddRange(await db.Devices.OrderBy(d => d.Mac).Select(d => d.Id).ToListAsync());
        }

        var placement = new Streamboot.Sessions.Farm.ServerPlacement(Site.Database, Settings, () => _ids["a"], TimeProvider.System);
        var credentials = new Streamboot.Sessions.Credentials.BootCredentials(Site.Database, Settings, TimeProvider.System);
        // While the turn is held, all fifteen wait for it together: on SQLite they share the next transaction.
        var turn = await Site.Database.WriteTurnAsync();
        var placements = devices.Select((device, i) => placement.PlaceAsync(credentials.NewBoot(device, vdiskId, Lab), versionId, Mac(i + 1), Lab, CancellationToken.None)).ToList();
        turn?.Dispose();
        var results = await Task.WhenAll(placements);

        Assert.Equal(9, results.Count(r => r is Streamboot.Sessions.Farm.Placed));
        Assert.Equal(6, results.Count(r => r is Streamboot.Sessions.Farm.PlacementFull));
        await using var check = Site.Database.CreateContext();
        var perServer = await check.Boots.GroupBy(b => b.ServerId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key!.Value, g => g.Count);
        Assert.Equal(2, perServer[_ids["a"]]);
        Assert.Equal(3, perServer[_ids["b"]]);
        Assert.Equal(4, perServer[_ids["c"]]);
    }

    private static string Mac(int i) => $"52:54:00:fd:00:{i:x2}";

    private async Task SetAsync(string name, Action<Data.Model.Server> change)
    {
        await using var db = Site.Database.CreateContext();
        var row = await db.Servers.SingleAsync(s => s.Id == _ids[name]);
        change(row);
        await db.SaveChangesAsync();
    }
}

public sealed class SqlitePlacementTests : PlacementTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);
}

public sealed class PostgresPlacementTests : PlacementTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.PostgresAsync();
}
