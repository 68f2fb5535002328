using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Streamboot.Testing;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// vDisks from the browser alone: an image in the server's import folder
/// imported (as an operation with its progress), one outside refused by the
/// same real-path check as the API's, an empty one created with its write
/// cache, changed, and deleted only after its confirm step; old versions
/// pruned. Every effect is checked in the site itself, through the command line.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class VDiskTests(ConsoleSite site)
{
    [Fact]
    public async Task A_vmdk_in_the_import_folder_is_imported_with_its_progress_shown_and_holds_its_source()
    {
        using var work = new TempFolder("console-import");
        var raw = work.Combine("source.raw");
        await QemuImg.RunAsync("create", "-f", "raw", raw, "96M");
        await QemuImg.IoAsync("raw", raw, "write -P 0x5c 0 32M", "write -P 0x3a 64M 16M");
        var vmdk = Path.Combine(site.ImportFolder, "golden-disk.vmdk");
        await QemuImg.RunAsync("convert", "-f", "raw", "-O", "vmdk", raw, vmdk);

        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/vdisks");
        var form = page.Locator("form:has(button:text('Import'))");
        await form.GetByLabel("Image file").SelectOptionAsync(vmdk);
        await form.GetByLabel("vDisk name").FillAsync("imported");
        await form.GetByLabel("Write cache").SelectOptionAsync("client-ram");
        await form.GetByRole(AriaRole.Button, new() { Name = "Import" }).ClickAsync();
        await Expect(page.Locator(".operation").First).ToContainTextAsync(ImportingOrImported());
        await ConsoleSite.ScreenshotAsync(page, "vdisks-import");
        // The page polls the operation until it is done (htmx), without a reload.
        await Expect(page.Locator(".operation").First.GetByRole(AriaRole.Status)).ToHaveTextAsync(new Regex("^Imported imported"), new() { Timeout = 120_000 });

        var shown = await site.Cli.JsonAsync("vdisk", "show", "imported");
        Assert.Equal("qcow2", shown.GetProperty("format").GetString());
        Assert.Equal("client-ram", shown.GetProperty("writeCacheMode").GetString());
        Assert.Equal(96L << 20, shown.GetProperty("sizeBytes").GetInt64());
        var file = Path.Combine(shown.GetProperty("storePath").GetString()!, shown.GetProperty("versions")[0].GetProperty("file").GetString()!);
        await QemuImg.RunAsync("compare", "-f", "raw", raw, file);
        await ConsoleSite.ScreenshotAsync(page, "vdisks-imported");
        await page.GotoAsync("/console/vdisks");
        await Expect(page.Locator("table.operations tr", new() { HasText = "Import of imported" })).ToContainTextAsync("succeeded");
        await Expect(page.Locator("table.operations tr", new() { HasText = "Import of imported" })).ToContainTextAsync("account:admin");
    }

    [Fact]
    public async Task A_file_outside_the_import_folders_is_neither_offered_nor_imported_when_posted()
    {
        // A link in the import folder to the site's own database: the server's user can read it, an import must not.
        var database = Path.Combine(site.Cli.DataFolder, "streamboot.db");
        var link = Path.Combine(site.ImportFolder, "sneaky.qcow2");
        File.CreateSymbolicLink(link, database);
        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/vdisks");
        await Expect(page.Locator("option", new() { HasText = "sneaky" })).ToHaveCountAsync(0);

        // Posted anyway, as a forged form would (with the page's own anti-forgery token): refused, nothing made.
        foreach (var (path, name) in new[] { (link, "sneaky"), (database, "database"), ("/etc/hostname", "hostname") })
        {
            await page.GotoAsync("/console/vdisks");
            var token = await page.Locator("form:has(button:text('Create vDisk')) input[name=__RequestVerificationToken]").GetAttributeAsync("value");
            var form = page.APIRequest.CreateFormData();
            foreach (var (field, value) in new[] { ("_handler", "import-vdisk"), ("__RequestVerificationToken", token!), ("Import.Path", path), ("Import.Name", name), ("Import.Format", "qcow2") })
            {
                form.Set(field, value);
            }

            var posted = await page.APIRequest.PostAsync("/console/vdisks", new() { Form = form, MaxRedirects = 0 });
            Assert.Equal(200, posted.Status);
            Assert.Contains("is not in an import folder", await posted.TextAsync(), StringComparison.Ordinal);
            Assert.NotEqual(0, (await site.Cli.RunAsync("vdisk", "show", name)).ExitCode);
        }

        File.Delete(link);
    }

    [Fact]
    public async Task A_vdisk_is_created_changed_and_deleted_only_once_its_confirm_step_is_accepted()
    {
        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/vdisks");
        var create = page.Locator("form:has(button:text('Create vDisk'))");
        await create.GetByLabel("Name").FillAsync("scratch");
        await create.GetByLabel("Size").FillAsync("8M");
        await create.GetByLabel("Format").SelectOptionAsync("raw");
        await create.GetByLabel("Write cache").SelectOptionAsync("server-ram");
        await create.GetByRole(AriaRole.Button, new() { Name = "Create vDisk" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Created scratch");
        var made = await site.Cli.JsonAsync("vdisk", "show", "scratch");
        Assert.Equal("raw", made.GetProperty("format").GetString());
        Assert.Equal("server-ram", made.GetProperty("writeCacheMode").GetString());

        // vdisk set: description, write cache, anonymous reads, boot protocol.
        await page.GotoAsync("/console/vdisks/scratch");
        var settings = page.Locator("form:has(button:text('Save'))");
        await settings.GetByLabel("Write cache").SelectOptionAsync("server-disk");
        await settings.GetByLabel("Boot protocol").SelectOptionAsync("http");
        await settings.GetByLabel("Description").FillAsync("<i>scratch</i> disk");
        await settings.GetByLabel("anonymous read-only reads").UncheckAsync();
        await settings.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Saved.");
        var set = await site.Cli.JsonAsync("vdisk", "show", "scratch");
        Assert.Equal("server-disk", set.GetProperty("writeCacheMode").GetString());
        Assert.Equal("http", set.GetProperty("bootProtocol").GetString());
        Assert.Equal("<i>scratch</i> disk", set.GetProperty("description").GetString());
        Assert.False(set.GetProperty("anonymousReads").GetBoolean());

        // The delete button only leads to its confirm step; Cancel goes back and deletes nothing.
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete vDisk scratch…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Alertdialog);
        await Expect(confirm).ToContainTextAsync("Delete vDisk scratch?");
        await ConsoleSite.ScreenshotAsync(page, "vdisk-confirm-delete");
        await confirm.GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{site.Base}/console/vdisks/scratch");
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToHaveCountAsync(0);
        Assert.Equal(0, (await site.Cli.RunAsync("vdisk", "show", "scratch")).ExitCode);

        // Assigned: refused with the Admin layer's words, until the force box is ticked.
        await site.Cli.OkAsync("device", "add", "52:54:00:aa:d1:01", "--name", "SCRATCH-01");
        await site.Cli.OkAsync("assign", "SCRATCH-01", "scratch");
        await page.GotoAsync("/console/vdisks/scratch?confirm=delete");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete vDisk scratch" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("SCRATCH-01");
        Assert.Equal(0, (await site.Cli.RunAsync("vdisk", "show", "scratch")).ExitCode);
        await page.GetByLabel("delete even while assigned to devices").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete vDisk scratch" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Deleted vDisk scratch");
        await Expect(page.Locator("main")).ToContainTextAsync("Taken from 1 device: SCRATCH-01");
        await ConsoleSite.ScreenshotAsync(page, "vdisk-deleted");
        Assert.NotEqual(0, (await site.Cli.RunAsync("vdisk", "show", "scratch")).ExitCode);
        Assert.False(Directory.Exists(made.GetProperty("storePath").GetString()), "the vDisk's files are gone");
        Assert.Equal(0, (await site.Cli.JsonAsync("device", "show", "SCRATCH-01")).GetProperty("assignments").GetArrayLength());
    }

    [Fact]
    public async Task Versions_a_client_kept_through_a_merge_are_pruned_after_the_confirm_step()
    {
        await site.Cli.OkAsync("vdisk", "create", "pruned", "--size", "8M", "--format", "qcow2");
        await site.Cli.OkAsync("vdisk", "version", "new", "pruned");
        await site.Cli.OkAsync("vdisk", "version", "promote", "pruned", "--to", "production");
        await site.Cli.OkAsync("device", "add", "52:54:00:aa:d1:02", "--name", "PRUNE-01");
        await site.Cli.OkAsync("assign", "PRUNE-01", "pruned");

        // A client runs version 2 while the chain is merged: versions 1 and 2 stay for it.
        var view = (await site.Cli.OkAsync("session", "key", "PRUNE-01")).Stdout.Trim();
        await using (var client = await NbdRawClient.ConnectAsync(site.NbdPort))
        {
            await client.GoAsync(view);
            await site.Cli.OkAsync("vdisk", "version", "merge", "pruned");
            Assert.Equal(3, (await site.Cli.JsonAsync("vdisk", "show", "pruned")).GetProperty("versions").GetArrayLength());
        }

        // It left; prune removes what it kept.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await site.Cli.JsonAsync("session", "list")).EnumerateArray().Any(s => s.GetProperty("device").GetString() == "PRUNE-01"))
        {
            Assert.True(DateTime.UtcNow < deadline, "PRUNE-01's session did not end after its client left");
            await Task.Delay(200);
        }

        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/vdisks/pruned");
        await page.GetByRole(AriaRole.Link, new() { Name = "Prune…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("can no longer be rolled back to");
        await page.GetByRole(AriaRole.Button, new() { Name = "Prune old versions" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Pruned 2 old versions.");
        await Expect(page.Locator("table.versions tbody tr")).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToHaveCountAsync(0);
        var versions = (await site.Cli.JsonAsync("vdisk", "show", "pruned")).GetProperty("versions");
        Assert.Equal(1, versions.GetArrayLength());
        Assert.Equal(3, versions[0].GetProperty("number").GetInt32());

        // Nothing left to prune: said so.
        await page.GetByRole(AriaRole.Link, new() { Name = "Prune…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Prune old versions" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Nothing to prune.");
    }

    [GeneratedRegex("Import")]
    private static partial Regex ImportingOrImported();
}
