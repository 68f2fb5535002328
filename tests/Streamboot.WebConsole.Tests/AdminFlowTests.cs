using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// An admin runs the site from the browser alone: a collection, a device in
/// it, a vDisk assigned, a new version promoted to production, and the audit
/// log naming the account for each change; refusals show the Admin layer's
/// own one-line message.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class AdminFlowTests(ConsoleSite site)
{
    [Fact]
    public async Task An_admin_adds_a_collection_and_a_device_assigns_a_vdisk_and_promotes_a_version()
    {
        var page = await site.SignedInPageAsync();

        // A collection whose unknown devices are refused, naming its devices LAB-###.
        await page.GetByRole(AriaRole.Link, new() { Name = "Collections" }).ClickAsync();
        var add = page.Locator("form:has(button:text('Add collection'))");
        await add.GetByLabel("Name").FillAsync("lab");
        await add.GetByLabel("Naming pattern").FillAsync("LAB-###");
        await add.GetByLabel("Unknown-device policy").SelectOptionAsync("refuse");
        await add.GetByLabel("Default vDisk").SelectOptionAsync("gold");
        await add.GetByLabel("Description").FillAsync("<b>lab</b> & friends");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add collection" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Added collection lab.");
        var row = page.Locator("tr", new() { Has = page.GetByRole(AriaRole.Link, new() { Name = "lab", Exact = true }) });
        await Expect(row).ToContainTextAsync("LAB-###");
        await Expect(row).ToContainTextAsync("refuse");
        // Escaped, never markup: the description's tags are text on the page.
        await Expect(row).ToContainTextAsync("<b>lab</b> & friends");
        await ConsoleSite.ScreenshotAsync(page, "collections");

        // The same name again: the Admin layer's message, as the command line would print it.
        await add.GetByLabel("Name").FillAsync("lab");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add collection" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("lab");

        // Edit the collection: its policy becomes auto-register.
        await page.GetByRole(AriaRole.Link, new() { Name = "lab", Exact = true }).ClickAsync();
        await page.GetByLabel("Unknown-device policy").SelectOptionAsync("auto-register");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Saved.");
        await ConsoleSite.ScreenshotAsync(page, "collection");

        // A device in it, named from the pattern; then a wrong MAC refused with the layer's message.
        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        var device = page.Locator("form:has(button:text('Add device'))");
        await device.GetByLabel("MAC address").FillAsync("52:54:00:aa:bb:01");
        await device.Locator("select[name='Add.Collection']").SelectOptionAsync("lab");
        await device.GetByRole(AriaRole.Button, new() { Name = "Add device" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Added LAB-001 (52:54:00:aa:bb:01).");
        await device.GetByLabel("MAC address").FillAsync("not-a-mac");
        await device.GetByRole(AriaRole.Button, new() { Name = "Add device" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not-a-mac");
        await ConsoleSite.ScreenshotAsync(page, "devices");

        // Assign: a second vDisk made here, assigned as the default beside the collection's gold.
        await page.GetByRole(AriaRole.Link, new() { Name = "vDisks" }).ClickAsync();
        var create = page.Locator("form:has(button:text('Create vDisk'))");
        await create.GetByLabel("Name").FillAsync("labimage");
        await create.GetByLabel("Size").FillAsync("8M");
        await create.GetByRole(AriaRole.Button, new() { Name = "Create vDisk" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Created labimage");
        await ConsoleSite.ScreenshotAsync(page, "vdisks");

        await page.GotoAsync("/console/devices/LAB-001");
        await Expect(page.Locator("table")).ToContainTextAsync("gold");
        await page.Locator("select[name='Assign.VDisk']").SelectOptionAsync("labimage");
        await page.Locator("input[name='Assign.Default']").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Assign vDisk" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Assigned labimage as the default.");
        await Expect(page.Locator("tr", new() { HasText = "labimage" })).ToContainTextAsync("default");
        await page.GetByLabel("Description").FillAsync("bench 3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Saved.");
        await ConsoleSite.ScreenshotAsync(page, "device");

        // A new version of gold, promoted to test, then to production.
        await page.GotoAsync("/console/vdisks/gold");
        await page.Locator("form:has(button:text('New version'))").GetByLabel("Description").FillAsync("patched");
        await page.GetByRole(AriaRole.Button, new() { Name = "New version" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Opened version 2 in maintenance");
        await page.GetByRole(AriaRole.Button, new() { Name = "Promote" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Version 2 is now in test.");
        await page.GetByLabel("Promote to").SelectOptionAsync("production");
        await page.GetByRole(AriaRole.Button, new() { Name = "Promote" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Version 2 is now in production.");
        await Expect(page.Locator("table.versions tbody tr").First).ToContainTextAsync("production");
        await page.GetByRole(AriaRole.Button, new() { Name = "Promote" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("already in production");
        await ConsoleSite.ScreenshotAsync(page, "vdisk");

        // Every change above, by this account, in the audit log.
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        var log = page.Locator("table.audit tbody");
        foreach (var (action, target) in new[]
        {
            ("collection.add", "lab"), ("collection.set", "lab"), ("device.add", "LAB-001"), ("vdisk.create", "labimage"),
            ("assign", "LAB-001"), ("device.set", "LAB-001"), ("vdisk.version.new", "gold"), ("vdisk.version.promote", "gold"),
        })
        {
            await Expect(log.Locator("tr", new() { HasText = action }).Filter(new() { HasText = target }).First).ToContainTextAsync("account:admin");
        }

        await ConsoleSite.ScreenshotAsync(page, "audit");
    }

    [Fact]
    public async Task A_version_chain_is_merged_with_its_progress_shown()
    {
        await site.Cli.OkAsync("vdisk", "create", "chained", "--size", "8M", "--format", "qcow2");
        await site.Cli.OkAsync("vdisk", "version", "new", "chained");
        await site.Cli.OkAsync("vdisk", "version", "promote", "chained", "--to", "production");
        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/vdisks/chained");
        await page.GetByRole(AriaRole.Button, new() { Name = "Merge the chain" }).ClickAsync();
        await Expect(page.Locator(".operation")).ToContainTextAsync(MergedOrMerging());
        await Expect(page.Locator(".operation").GetByRole(AriaRole.Status)).ToHaveTextAsync("Merged into version 3.", new() { Timeout = 60_000 });
        await page.GetByRole(AriaRole.Link, new() { Name = "Show vDisk chained" }).ClickAsync();
        await Expect(page.Locator("table.versions tbody tr").First).ToContainTextAsync("merged from versions 1-2");
        // The merged base alone: no client ran the versions it replaced, so they went with the merge.
        var versions = (await site.Cli.JsonAsync("vdisk", "show", "chained")).GetProperty("versions");
        Assert.Equal(1, versions.GetArrayLength());
        Assert.Equal(3, versions[0].GetProperty("number").GetInt32());
    }

    [Fact]
    public async Task A_rollback_discards_the_newest_version_after_its_confirm_step_and_a_base_cannot_be_rolled_back()
    {
        await site.Cli.OkAsync("vdisk", "create", "rolled", "--size", "8M", "--format", "qcow2");
        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/vdisks/rolled");
        await page.GetByRole(AriaRole.Button, new() { Name = "New version" }).ClickAsync();
        await Expect(page.Locator("table.versions tbody tr")).ToHaveCountAsync(2);

        // Dismissed: nothing rolled back.
        await page.GetByRole(AriaRole.Link, new() { Name = "Roll back the newest version…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("Version 2 and its file are deleted");
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToHaveCountAsync(0);
        Assert.Equal(2, (await site.Cli.JsonAsync("vdisk", "show", "rolled")).GetProperty("versions").GetArrayLength());

        await page.GetByRole(AriaRole.Link, new() { Name = "Roll back the newest version…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back the newest version" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Rolled back; the newest version is now 1.");
        Assert.Equal(1, (await site.Cli.JsonAsync("vdisk", "show", "rolled")).GetProperty("versions").GetArrayLength());
        await page.GetByRole(AriaRole.Link, new() { Name = "Roll back the newest version…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back the newest version" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("nothing to roll back to");
    }

    [GeneratedRegex("Merg")]
    private static partial Regex MergedOrMerging();
}
