using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// Tokens and accounts from the browser: a token's secret shown once and
/// working against the real API until it is revoked (after its confirm
/// step); an account added, signing in, and changing its own password only
/// with the current one; the site's facts. Checked against the API itself.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class AccessTests(ConsoleSite site)
{
    [Fact]
    public async Task A_token_made_here_shows_its_secret_once_works_on_the_api_and_stops_when_revoked()
    {
        var page = await site.SignedInPageAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Access" }).ClickAsync();
        var make = page.Locator("form:has(button:text('Make token'))");
        await make.GetByLabel("Name").FillAsync("ci-console");
        await make.GetByLabel("Scope").SelectOptionAsync("read");
        var response = await page.RunAndWaitForResponseAsync(
            () => make.GetByRole(AriaRole.Button, new() { Name = "Make token" }).ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith("/console/access", StringComparison.Ordinal));
        Assert.Equal("no-store", response.Headers["cache-control"]);
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Made token ci-console.");
        var secret = await page.GetByLabel("the new token's secret").InputValueAsync();
        Assert.StartsWith("sbt_", secret, StringComparison.Ordinal);
        await ConsoleSite.ScreenshotAsync(page, "access-new-token");
        Assert.Equal(HttpStatusCode.OK, await ApiAsync(secret));

        // Shown once: the list has the token, never its secret.
        await page.GotoAsync("/console/access");
        await Expect(page.Locator("table.tokens")).ToContainTextAsync("ci-console");
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        // Revoke: dismissed first (it still works), then accepted (it stops at once).
        var row = page.Locator("table.tokens tr", new() { HasText = "ci-console" });
        await row.GetByRole(AriaRole.Link, new() { Name = "Revoke…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("Revoke token ci-console?");
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        Assert.Equal(HttpStatusCode.OK, await ApiAsync(secret));
        await row.GetByRole(AriaRole.Link, new() { Name = "Revoke…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke ci-console" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Revoked token ci-console.");
        Assert.Equal(HttpStatusCode.Unauthorized, await ApiAsync(secret));
        await Expect(page.Locator("table.tokens tr", new() { HasText = "ci-console" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task An_account_added_here_signs_in_and_changes_its_password_only_with_the_current_one()
    {
        const string First = "ops-first-password";
        const string Second = "ops-second-password";
        var page = await site.SignedInPageAsync(ConsoleSite.Phone);
        await page.GotoAsync("/console/access");
        var add = page.Locator("form:has(button:text('Add account'))");
        await add.GetByLabel("Name").FillAsync("ops");
        await add.GetByLabel("Password (12 characters or more)").FillAsync(First);
        await add.GetByLabel("Password again").FillAsync(First);
        await add.GetByRole(AriaRole.Button, new() { Name = "Add account" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Added account ops");
        // A password typed into a form never comes back in a page.
        Assert.DoesNotContain(First, await page.ContentAsync(), StringComparison.Ordinal);
        await Expect(page.Locator("table.accounts")).ToContainTextAsync("ops");
        await ConsoleSite.ScreenshotAsync(page, "access-account-added");

        // The same name again: refused (an add never resets another admin's password).
        await add.GetByLabel("Name").FillAsync("ops");
        await add.GetByLabel("Password (12 characters or more)").FillAsync("someone-elses-password");
        await add.GetByLabel("Password again").FillAsync("someone-elses-password");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add account" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("already exists");

        // ops signs in, and changes its own password: a wrong current one is refused.
        var ops = await site.NewPageAsync(ConsoleSite.Phone);
        await ConsoleSite.SignInAsync(ops, "ops", First);
        await Expect(ops.Locator("header .who")).ToHaveTextAsync("account:ops");
        await ops.GotoAsync("/console/access");
        var change = ops.Locator("form:has(button:text('Change password'))");
        await Expect(ops.Locator("legend", new() { HasText = "Your password" })).ToContainTextAsync("ops");
        await change.GetByLabel("Current password").FillAsync("not-the-password");
        await change.GetByLabel("New password (12 characters or more)").FillAsync(Second);
        await change.GetByLabel("New password again").FillAsync(Second);
        await change.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Expect(ops.GetByRole(AriaRole.Alert)).ToContainTextAsync("the current password is wrong");
        await change.GetByLabel("Current password").FillAsync(First);
        await change.GetByLabel("New password (12 characters or more)").FillAsync(Second);
        await change.GetByLabel("New password again").FillAsync(Second);
        await change.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Expect(ops.GetByRole(AriaRole.Status)).ToContainTextAsync("Your password is changed");

        var next = await site.NewPageAsync();
        await ConsoleSite.SignInAsync(next, "ops", First);
        await Expect(next.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong account name or password.");
        await ConsoleSite.SignInAsync(next, "ops", Second);
        await Expect(next).ToHaveURLAsync($"{site.Base}/console");

        // In the audit log, by whom.
        await next.GotoAsync("/console/audit");
        var log = next.Locator("table.audit tbody");
        await Expect(log.Locator("tr", new() { HasText = "account.create" }).Filter(new() { HasText = "ops" }).First).ToContainTextAsync("account:admin");
        await Expect(log.Locator("tr", new() { HasText = "account.password" }).Filter(new() { HasText = "ops" }).First).ToContainTextAsync("account:ops");
    }

    [Fact]
    public async Task The_site_facts_are_the_sites_own()
    {
        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/access");
        var facts = page.Locator("dl.facts");
        var info = await site.Cli.JsonAsync("db", "status");
        await Expect(facts).ToContainTextAsync("SQLite");
        await Expect(facts).ToContainTextAsync(site.Cli.DataFolder);
        await Expect(facts.GetByText(info.GetProperty("schemaVersion").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Exact = true })).ToBeVisibleAsync();
        await Expect(facts).ToContainTextAsync("shared");
    }

    private async Task<HttpStatusCode> ApiAsync(string secret)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, site.Base + "/api/v1/vdisks");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var answer = await http.SendAsync(request);
        return answer.StatusCode;
    }
}
