namespace Streamboot.Data.Tests;

public class DatabaseLocationTests
{
    [Fact]
    public void A_postgres_url_becomes_a_connection_string_and_hides_its_password()
    {
        Assert.True(DatabaseLocation.TryParse("postgresql://sb:s3cret@db.example:5433/site", out var location, out _));
        Assert.Equal(DatabaseProvider.PostgreSql, location.Provider);
        Assert.Contains("Port=5433", location.ConnectionString, StringComparison.Ordinal);
        Assert.Contains("Password=s3cret", location.ConnectionString, StringComparison.Ordinal);
        Assert.Equal("PostgreSQL sb@db.example:5433/site", location.Describe());
        Assert.DoesNotContain("s3cret", location.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_string_is_taken_as_postgres() =>
        Assert.Equal(DatabaseProvider.PostgreSql, DatabaseLocation.TryParse("Host=127.0.0.1;Database=x;Username=y", out var l, out _) ? l.Provider : default);

    [Theory]
    [InlineData("/srv/site.db")]
    [InlineData("sqlite:/srv/site.db")]
    public void A_path_is_a_sqlite_file(string text)
    {
        Assert.True(DatabaseLocation.TryParse(text, out var location, out _));
        Assert.Equal(DatabaseProvider.Sqlite, location.Provider);
        Assert.Equal("SQLite /srv/site.db", location.Describe());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Host=x;Bogus Keyword=1", "not a valid PostgreSQL connection string")]
    [InlineData("a=b;c", "neither")]
    [InlineData("postgresql://", "not a valid URL")]
    public void Nonsense_is_refused_with_a_reason(string text, string expected)
    {
        Assert.False(DatabaseLocation.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
