using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// Every page renders in a real browser, on a desktop and on a phone-sized
/// screen (390x844), with nothing wider than the screen but the tables'
/// own scrolling boxes; each is kept as a screenshot.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class PageTests(ConsoleSite site)
{
    public static TheoryData<string, string, string> Pages() => new()
    {
        { "/console", "Dashboard", "dashboard-empty" },
        { "/console/devices", "Devices", "devices-list" },
        { "/console/collections", "Collections", "collections-list" },
        { "/console/collections/default", "Collection default", "collection-default" },
        { "/console/vdisks", "vDisks", "vdisks-list" },
        { "/console/vdisks/gold", "vDisk gold", "vdisk-gold" },
        { "/console/sessions", "Sessions", "sessions-list" },
        { "/console/sessions?all=true", "Sessions", "sessions-all" },
        { "/console/leases", "DHCP leases", "leases" },
        { "/console/audit", "Audit log", "audit-log" },
        { "/console/servers", "Servers", "servers" },
        { "/console/servers?rebalance=plan", "Servers", "servers-rebalance-plan" },
        { "/console/access", "Tokens and accounts", "access" },
        { "/console/vms", "Virtual machines", "vms-list" },
        { "/console/vms/pagevm", "VM pagevm", "vm-pagevm" },
        { "/console/vdisks/gold?confirm=delete", "vDisk gold", "vdisk-gold-confirm-delete" },
        { "/console/devices/PAGE-01?confirm=delete", "Device PAGE-01", "device-confirm-delete" },
        { "/console/access?confirm=revoke&target=page-token", "Tokens and accounts", "access-confirm-revoke" },
    };

    /// <summary>What the pages above show besides the fixture's own: a device and a token to confirm deleting.</summary>
    private async Task MakeShownThingsAsync()
    {
        if ((await site.Cli.RunAsync("device", "show", "PAGE-01")).ExitCode != 0)
        {
            await site.Cli.OkAsync("device", "add", "52:54:00:aa:00:99", "--name", "PAGE-01");
            await site.Cli.OkAsync("token", "create", "page-token");
        }
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task The_page_renders_on_a_desktop_and_on_a_phone(string path, string heading, string name)
    {
        await MakeShownThingsAsync();
        foreach (var viewport in new[] { ConsoleSite.Desktop, ConsoleSite.Phone })
        {
            var page = await site.SignedInPageAsync(viewport);
            var errors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    errors.Add(message.Text);
                }
            };
            var response = await page.GotoAsync(path);
            Assert.Equal(200, response?.Status);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(heading);
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Audit log" })).ToBeVisibleAsync();
            var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.True(overflow <= 0, $"{path} is {overflow} px wider than a {viewport.Width} px screen");
            await ConsoleSite.ScreenshotAsync(page, name);
            Assert.Empty(errors);
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task A_vms_page_lists_its_snapshots()
    {
        if ((await site.Cli.JsonAsync("vm", "snapshot", "pagevm", "list")).GetArrayLength() == 0)
        {
            await site.Cli.OkAsync("vm", "snapshot", "pagevm", "take", "before-install");
        }

        var page = await site.SignedInPageAsync(ConsoleSite.Phone);
        await page.GotoAsync("/console/vms/pagevm");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Snapshots" })).ToBeVisibleAsync();
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "before-install" });
        await Expect(row).ToContainTextAsync("disk only");
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the VM page is {overflow} px wider than a phone's screen");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_sign_in_page_renders_on_a_phone()
    {
        var page = await site.NewPageAsync(ConsoleSite.Phone);
        await page.GotoAsync("/console/signin");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sign in");
        await ConsoleSite.ScreenshotAsync(page, "signin");
        await page.SetViewportSizeAsync(ConsoleSite.Desktop.Width, ConsoleSite.Desktop.Height);
        await ConsoleSite.ScreenshotAsync(page, "signin");
    }

    [Fact]
    public async Task A_refused_boot_shows_on_the_sessions_page_with_what_the_machine_was_told()
    {
        await site.Cli.OkAsync("device", "add", "52:54:00:c0:ff:01", "--name", "refused-pc", "--enabled", "false", "--boot-loader", "secure-boot");
        using (var http = new HttpClient())
        {
            Assert.Contains("refused-pc (52:54:00:c0:ff:01) is disabled", await http.GetStringAsync($"{site.Base}/boot.ipxe?mac=52:54:00:c0:ff:01"), StringComparison.Ordinal);
        }

        var page = await site.SignedInPageAsync(ConsoleSite.Phone);
        await page.GotoAsync("/console/sessions");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Refused boots" })).ToBeVisibleAsync();
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "refused-pc" });
        await Expect(row).ToContainTextAsync("is disabled; 'streamboot device set refused-pc --enabled true' enables it");
        await Expect(row).ToContainTextAsync("ipxe");
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the sessions page is {overflow} px wider than a phone");
        await ConsoleSite.ScreenshotAsync(page, "sessions-refused");

        // The device's page sets its boot loader.
        await page.GotoAsync("/console/devices/refused-pc");
        await Expect(page.GetByLabel("Boot loader (x64 UEFI)")).ToHaveValueAsync("secure-boot");
        await page.Context.CloseAsync();
    }

    [Theory]
    [InlineData("/console/devices/NO-SUCH-PC", "No device NO-SUCH-PC", "NO-SUCH-PC", "not-found-device")]
    [InlineData("/console/vdisks/nosuchdisk", "No vDisk nosuchdisk", "nosuchdisk", "not-found-vdisk")]
    [InlineData("/console/collections/nosuchlab", "No collection nosuchlab", "nosuchlab", "not-found-collection")]
    [InlineData("/console/vms/nosuchvm", "No VM nosuchvm", "nosuchvm", "not-found-vm")]
    [InlineData("/console/no/such/page", "Not found", "no such page", "not-found-page")]
    public async Task A_url_that_names_nothing_is_a_404_page_that_says_so(string path, string heading, string said, string name)
    {
        foreach (var viewport in new[] { ConsoleSite.Desktop, ConsoleSite.Phone })
        {
            var page = await site.SignedInPageAsync(viewport);
            var response = await page.GotoAsync(path);
            Assert.Equal(404, response?.Status);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(heading);
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(said);
            // Still the console: its navigation, for a way on.
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Dashboard" }).First).ToBeVisibleAsync();
            await ConsoleSite.ScreenshotAsync(page, name);
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task An_unknown_console_path_is_a_404_without_signing_in_too_and_shows_no_navigation()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var response = await http.GetAsync(site.Base + "/console/nothing-here?x=<b>y</b>");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("<h1>Not found</h1>", body, StringComparison.Ordinal);
        Assert.DoesNotContain("/console/devices\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>y</b>", body, StringComparison.Ordinal);
    }
}
