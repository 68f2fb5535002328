using System.Globalization;
using Microsoft.Playwright;
using Streamboot.Testing;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// The farm from the browser: a second real server on the same site is
/// drained (after its confirm step) and enabled, weighted, asked for a
/// rebalance (the dry run first, then the moves), and once stopped, removed.
/// Checked through <c>server list</c> and the audit log.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ServerTests(ConsoleSite site)
{
    [Fact]
    public async Task A_second_server_is_drained_enabled_weighted_rebalanced_to_and_removed_once_stopped()
    {
        // Two clients streaming from the first server, before the second one starts (so both boots are placed there).
        var clients = new List<NbdRawClient>();
        foreach (var (mac, name) in new[] { ("52:54:00:aa:5e:01", "FARM-01"), ("52:54:00:aa:5e:02", "FARM-02") })
        {
            await site.Cli.OkAsync("device", "add", mac, "--name", name);
            await site.Cli.OkAsync("assign", name, "gold");
            var view = (await site.Cli.OkAsync("session", "key", name)).Stdout.Trim();
            var client = await NbdRawClient.ConnectAsync(site.NbdPort);
            await client.GoAsync(view);
            clients.Add(client);
        }

        var http = Ports.Free();
        var second = ServerProcess.Start(
            ["--data", site.Cli.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--nbd-port", Text(Ports.Free()), "--server-name", "second"],
            // Its booting window is a second: the two clients count as booted when it plans a rebalance.
            new Dictionary<string, string?> { ["STREAMBOOT_BOOTING_SECONDS"] = "1" });
        try
        {
            using (await second.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(3)))
            {
            }

            var first = (await ServersAsync()).Single(s => s.Name != "second").Name;
            var page = await site.SignedInPageAsync(baseUrl: $"http://127.0.0.1:{http}");
            await page.GetByRole(AriaRole.Link, new() { Name = "Servers" }).ClickAsync();
            var row = page.Locator("table.servers tr", new() { HasText = "second" });
            await Expect(row).ToContainTextAsync("running");
            await Expect(page.Locator("table.servers tr", new() { HasText = first })).ToContainTextAsync("running");
            await ConsoleSite.ScreenshotAsync(page, "servers-farm");

            // Drain: its confirm step first; dismissed, the server still takes boots.
            await row.GetByRole(AriaRole.Link, new() { Name = "Drain…" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("Drain second?");
            await ConsoleSite.ScreenshotAsync(page, "servers-confirm-drain");
            await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
            Assert.True((await ServersAsync()).Single(s => s.Name == "second").Enabled);
            await row.GetByRole(AriaRole.Link, new() { Name = "Drain…" }).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Drain second" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Drained second: it takes no new boots.");
            await Expect(row).ToContainTextAsync("drained");
            Assert.False((await ServersAsync()).Single(s => s.Name == "second").Enabled);
            await row.GetByRole(AriaRole.Button, new() { Name = "Enable" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Enabled second: it takes new boots again.");
            Assert.True((await ServersAsync()).Single(s => s.Name == "second").Enabled);

            // Weight: an out-of-range one is the Admin layer's refusal; a good one lands.
            var weight = page.Locator("form:has(button:text('Set weight'))");
            await weight.GetByLabel("Server").SelectOptionAsync("second");
            await weight.GetByLabel("Weight").FillAsync("5000");
            await weight.GetByRole(AriaRole.Button, new() { Name = "Set weight" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("out of range");
            await weight.GetByLabel("Server").SelectOptionAsync("second");
            await weight.GetByLabel("Weight").FillAsync("3");
            await weight.GetByRole(AriaRole.Button, new() { Name = "Set weight" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("second now has weight 3.");
            Assert.Equal(3, (await ServersAsync()).Single(s => s.Name == "second").Weight);

            // Rebalance: what would move is shown first, and nothing moves until asked.
            await page.GetByRole(AriaRole.Link, new() { Name = "Plan a rebalance" }).ClickAsync();
            var plan = page.GetByRole(AriaRole.Region, new() { Name = "rebalance plan" });
            await Expect(plan.Locator("table.shares tr", new() { HasText = first })).ToContainTextAsync("2");
            await Expect(plan.Locator("ul.moves li")).ToHaveCountAsync(1);
            await Expect(plan.Locator("ul.moves")).ToContainTextAsync($"off {first}");
            await ConsoleSite.ScreenshotAsync(page, "servers-rebalance-dry-run");
            Assert.DoesNotContain(await AuditAsync(), a => a.Action == "server.rebalance");
            await plan.GetByRole(AriaRole.Button, new() { Name = "Move 1 session" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Asked 1 session to move");
            var rebalance = (await AuditAsync()).Single(a => a.Action == "server.rebalance");
            Assert.Equal("account:admin", rebalance.Actor);
            Assert.Contains("FARM-0", rebalance.Details, StringComparison.Ordinal);
        }
        finally
        {
            await second.TerminateAsync(TimeSpan.FromSeconds(30));
            await second.DisposeAsync();
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        // Stopped: the first server's console offers to remove it, after the confirm step.
        var home = await site.SignedInPageAsync(ConsoleSite.Phone);
        await home.GotoAsync("/console/servers");
        var stopped = home.Locator("table.servers tr", new() { HasText = "second" });
        await Expect(stopped).ToContainTextAsync("stopped");
        await stopped.GetByRole(AriaRole.Link, new() { Name = "Remove…" }).ClickAsync();
        await ConsoleSite.ScreenshotAsync(home, "servers-confirm-remove");
        await home.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        Assert.Contains(await ServersAsync(), s => s.Name == "second");
        await stopped.GetByRole(AriaRole.Link, new() { Name = "Remove…" }).ClickAsync();
        await home.GetByRole(AriaRole.Button, new() { Name = "Remove second" }).ClickAsync();
        await Expect(home.GetByRole(AriaRole.Status)).ToHaveTextAsync("Removed second.");
        Assert.DoesNotContain(await ServersAsync(), s => s.Name == "second");
    }

    private async Task<List<(string Name, bool Enabled, int Weight)>> ServersAsync() =>
        [.. (await site.Cli.JsonAsync("server", "list")).EnumerateArray()
            .Select(s => (s.GetProperty("name").GetString()!, s.GetProperty("enabled").GetBoolean(), s.GetProperty("weight").GetInt32()))];

    private async Task<List<(string Action, string Actor, string Details)>> AuditAsync() =>
        [.. (await site.Cli.JsonAsync("audit", "list", "--limit", "200")).EnumerateArray()
            .Select(a => (a.GetProperty("action").GetString()!, a.GetProperty("actor").GetString()!, a.GetProperty("details").GetRawText()))];

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
