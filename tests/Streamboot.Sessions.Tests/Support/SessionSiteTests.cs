using System.Security.Cryptography;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Profiles;
using Streamboot.Sessions.Views;
using Streamboot.Testing;

namespace Streamboot.Sessions.Tests.Support;

/// <summary>
/// A site in a temporary data folder and this server's session layer over
/// it, on the database a subclass chooses: every suite deriving from this
/// runs on SQLite and on PostgreSQL through its two concrete classes.
/// <see cref="RestartAsync"/> is a server restart: a new session layer on
/// the same site.
/// </summary>
public abstract class SessionSiteTests : IAsyncLifetime
{
    protected const string Lab = "10.0.0.10";
    private readonly TempFolder _data = new();
    private AdminSite? _site;
    private SessionLayer? _layer;

    protected AdminSite Site => _site ?? throw new InvalidOperationException("not initialised");

    protected SessionLayer Layer => _layer ?? throw new InvalidOperationException("not initialised");

    protected string DataFolder => _data.Path;

    protected ListLoggerFactory Log { get; } = new();

    protected virtual SessionSettings Settings => new();

    protected virtual BootProfileSettings ProfileSettings => new(TimeSpan.FromSeconds(60), MinBlocks: 4);

    public virtual async Task InitializeAsync()
    {
        var database = await SiteDatabase.OpenAsync(await CreateLocationAsync(_data.Path));
        _site = new AdminSite(database, _data.Path, "tester@test");
        _layer = NewLayer();
    }

    public virtual async Task DisposeAsync()
    {
        if (_layer is not null)
        {
            await _layer.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    protected abstract Task<DatabaseLocation> CreateLocationAsync(string dataFolder);

    /// <summary>The server stops (its live sessions and caches go with it) and another starts on the same site.</summary>
    protected async Task RestartAsync(SessionSettings? settings = null)
    {
        await Layer.DisposeAsync();
        _layer = NewLayer(settings);
    }

    protected SessionLayer NewLayer(SessionSettings? settings = null) =>
        new(Site, settings ?? Settings, ProfileSettings, () => null, Log);

    /// <summary>The device asks for its boot script from <paramref name="remote"/>; returns the new boot's key.</summary>
    protected async Task<string> BootAsync(string mac, string remote = Lab)
    {
        var decision = await Layer.DecideAsync(new BootRequest(mac, remote));
        return Assert.IsType<BootVDisk>(decision).Key;
    }

    protected async Task<SessionResult<SessionView>> TryOpenAsync(string name, string remote = Lab + ":40000", string protocol = "nbd") =>
        await Layer.OpenAsync(new ViewRequest(name, protocol, remote));

    protected async Task<SessionView> OpenAsync(string name, string remote = Lab + ":40000")
    {
        var view = await TryOpenAsync(name, remote);
        Assert.True(view.Ok, view.Error?.Message);
        return view.Value;
    }

    protected static byte[] Fill(byte value, int length) => Enumerable.Repeat(value, length).ToArray();

    protected static async Task<byte> ByteAtAsync(SessionView view, long offset)
    {
        var buffer = new byte[512];
        await view.Device.ReadAsync(offset, buffer);
        return buffer[0];
    }

    protected static async Task<string> HashAsync(string file) => Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(file)));
}

/// <summary>The two databases every session suite runs on.</summary>
public static class Databases
{
    public static Task<DatabaseLocation> SqliteAsync(string dataFolder) => Task.FromResult(DatabaseLocation.InDataFolder(dataFolder));

    public static async Task<DatabaseLocation> PostgresAsync() => await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
}
