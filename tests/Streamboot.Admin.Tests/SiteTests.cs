using Streamboot.Data;
using Streamboot.Testing;

namespace Streamboot.Admin.Tests;

/// <summary>
/// An admin site in a temporary data folder for each test, on the database
/// a subclass chooses: every suite deriving from this runs on SQLite and on
/// PostgreSQL through its two concrete classes.
/// </summary>
public abstract class SiteTests : IAsyncLifetime
{
    private readonly TempFolder _data = new();
    private AdminSite? _site;

    protected AdminSite Site => _site ?? throw new InvalidOperationException("not initialised");

    protected string DataFolder => _data.Path;

    public virtual async Task InitializeAsync()
    {
        var database = await SiteDatabase.OpenAsync(await CreateLocationAsync(_data.Path));
        _site = new AdminSite(database, _data.Path, "tester@test");
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
        return Task.CompletedTask;
    }

    protected abstract Task<DatabaseLocation> CreateLocationAsync(string dataFolder);
}
