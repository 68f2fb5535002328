using System.Text.RegularExpressions;
using Streamboot.Testing;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// The dashboard follows the site without a reload: htmx asks for its panel
/// every 2 s, so a client that opens its disk shows up as a live session, and
/// the bytes it reads move the bytes/s figure and the chart.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class DashboardTests(ConsoleSite site)
{
    [Fact]
    public async Task A_client_that_opens_its_disk_appears_on_the_open_dashboard_and_its_reads_move_the_chart()
    {
        await site.Cli.OkAsync("device", "add", "52:54:00:dd:00:01", "--name", "DASH-01");
        await site.Cli.OkAsync("assign", "DASH-01", "gold");
        var page = await site.SignedInPageAsync();
        var sessions = page.Locator("table.sessions");
        await Expect(sessions.Locator("tr", new() { HasText = "DASH-01" })).ToHaveCountAsync(0);

        // A new boot of DASH-01 over NBD, as its initramfs would open it: VDISK/DEVICE/KEY.
        var view = (await site.Cli.OkAsync("session", "key", "DASH-01")).Stdout.Trim();
        await using var client = await NbdRawClient.ConnectAsync(site.NbdPort);
        await client.GoAsync(view);
        var row = sessions.Locator("tr", new() { HasText = "DASH-01" });
        // No reload: the panel the page loaded is replaced by htmx's next poll.
        await Expect(row).ToContainTextAsync("gold", new() { Timeout = 15_000 });
        await Expect(row).ToContainTextAsync("v1");
        await Expect(page.Locator("#booting-now")).Not.ToHaveTextAsync("0");
        await Expect(page.Locator(".booting")).ToContainTextAsync("DASH-01");

        // Reads for a few seconds: the bytes/s figure leaves zero and the chart has a line.
        using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        var reads = Task.Run(async () =>
        {
            while (!reading.IsCancellationRequested)
            {
                await client.SendReadsAsync(16, 1 << 20);
                await client.ReadAsync(16 * ((1 << 20) + 16));
            }
        });
        await Expect(page.Locator("#bytes-per-second")).ToHaveTextAsync(NotZero(), new() { Timeout = 15_000 });
        await Expect(page.Locator(".chart polyline")).ToHaveCountAsync(1);
        await reads;
        await ConsoleSite.ScreenshotAsync(page, "dashboard");

        await page.SetViewportSizeAsync(ConsoleSite.Phone.Width, ConsoleSite.Phone.Height);
        await ConsoleSite.ScreenshotAsync(page, "dashboard");
        await page.GotoAsync("/console/sessions");
        await Expect(page.Locator("table.sessions")).ToContainTextAsync("DASH-01");
        // The boot's duration as recorded: from 'session key' (its boot issued) to the disk's first open above.
        var recorded = (await site.Cli.JsonAsync("session", "list")).EnumerateArray().Single(s => s.GetProperty("device").GetString() == "DASH-01");
        var seconds = recorded.GetProperty("bootSeconds").GetDouble();
        Assert.InRange(seconds, 0, 60);
        await Expect(page.Locator("table.sessions tr", new() { HasText = "DASH-01" }).Locator("td.boot"))
            .ToHaveTextAsync(seconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s");
        await ConsoleSite.ScreenshotAsync(page, "sessions");
    }

    [GeneratedRegex("^[1-9][0-9.]* ?[KMG]?i?B/s$")]
    private static partial Regex NotZero();
}
