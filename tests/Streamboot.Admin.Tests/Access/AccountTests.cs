using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Access;
using Streamboot.Data;
using Streamboot.Testing;

namespace Streamboot.Admin.Tests.Access;

/// <summary>
/// Accounts as the console manages them: adding one never touches an
/// existing account, an owner changes a password only with the current
/// one, and the list says who exists without any hash.
/// </summary>
public abstract class AccountTests : SiteTests
{
    private const string First = "first-password-of-twelve";

    [Fact]
    public async Task An_added_account_signs_in_and_a_name_taken_regardless_of_case_is_refused_without_change()
    {
        var access = new AccessAdmin(Site);
        Assert.Equal("ops", (await access.AddAccountAsync(" ops ", First)).Value);
        Assert.Equal("account:ops", (await access.AuthenticatePasswordAsync("ops", First))?.Actor);

        var again = await access.AddAccountAsync("OPS", "someone-elses-password");
        Assert.Equal(AdminErrorKind.Conflict, again.Error?.Kind);
        Assert.Contains("already exists", again.Error!.Message, StringComparison.Ordinal);
        Assert.NotNull(await access.AuthenticatePasswordAsync("ops", First));
        Assert.Null(await access.AuthenticatePasswordAsync("ops", "someone-elses-password"));

        Assert.Equal(AdminErrorKind.Invalid, (await access.AddAccountAsync("short", "too-short")).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await access.AddAccountAsync("bad name!", First)).Error?.Kind);
        Assert.Equal(["ops"], (await access.ListAccountsAsync()).Select(a => a.Name));
        await using var db = Site.Database.CreateContext();
        Assert.Equal(1, await db.AuditLog.CountAsync(a => a.Action == "account.create" && a.Target == "ops"));
    }

    [Fact]
    public async Task A_password_changes_only_with_the_current_one()
    {
        var access = new AccessAdmin(Site);
        await access.AddAccountAsync("ops", First);
        var before = (await access.ListAccountsAsync()).Single();

        var wrong = await access.ChangePasswordAsync("ops", "not-the-password", "second-password-of-twelve");
        Assert.Equal(AdminErrorKind.Refused, wrong.Error?.Kind);
        Assert.NotNull(await access.AuthenticatePasswordAsync("ops", First));

        Assert.True((await access.ChangePasswordAsync("ops", First, "second-password-of-twelve")).Ok);
        Assert.Null(await access.AuthenticatePasswordAsync("ops", First));
        Assert.NotNull(await access.AuthenticatePasswordAsync("ops", "second-password-of-twelve"));
        var after = (await access.ListAccountsAsync()).Single();
        Assert.Equal(before.CreatedAt, after.CreatedAt);
        Assert.True(after.PasswordSetAt >= before.PasswordSetAt);
    }
}

public sealed class SqliteAccountTests : AccountTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Task.FromResult(DatabaseLocation.InDataFolder(dataFolder));
}

public sealed class PostgresAccountTests : AccountTests
{
    protected override async Task<DatabaseLocation> CreateLocationAsync(string dataFolder) =>
        await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
}
