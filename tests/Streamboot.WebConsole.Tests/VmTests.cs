using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Streamboot.Testing;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// The golden-image workflow from the browser alone: a VM made from an
/// installer ISO in the import folder installs the test OS (its serial
/// console followed on its page), is shut down and captured into a vDisk
/// (an operation with its progress); a diskless VM made in a collection
/// whose default is that vDisk then boots it from this server, and its
/// session appears on the open dashboard while it boots, with its boot's
/// duration on the sessions page. Real QEMU VMs (plain emulation here).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class VmTests(ConsoleSite site)
{
    private const string UpLine = "STREAMBOOT-TEST-OS up:";

    [Fact]
    public async Task A_golden_image_is_installed_captured_and_booted_by_a_diskless_vm_whose_session_the_dashboard_shows()
    {
        var iso = await TestIso.PathAsync();
        File.Copy(iso, Path.Combine(site.ImportFolder, "installer.iso"), overwrite: true);
        try
        {
            var page = await site.SignedInPageAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "VMs" }).ClickAsync();
            var create = page.Locator("form:has(button:text('Create VM'))");
            await create.Locator("input[name='Create.Name']").FillAsync("golden-vm");
            await create.GetByLabel("Installer ISO").SelectOptionAsync(Path.Combine(site.ImportFolder, "installer.iso"));
            await create.GetByLabel("Memory").FillAsync("256");
            await create.GetByLabel("Processors").FillAsync("1");
            await create.GetByLabel("Disk size").FillAsync("96M");
            await create.Locator("select[name='Create.Network']").SelectOptionAsync("none");
            await create.GetByRole(AriaRole.Button, new() { Name = "Create VM" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/console/vms/golden-vm"));
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Created.");
            Assert.EndsWith("installer.iso", (await site.Cli.JsonAsync("vm", "show", "golden-vm")).GetProperty("installerIso").GetString(), StringComparison.Ordinal);

            // Installed: the page follows the serial console by itself (htmx), no reload.
            await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Started");
            var console = page.Locator("#vm-console");
            await Expect(console).ToContainTextAsync(TestIso.Ready, new() { Timeout = 300_000 });
            await Expect(console).ToContainTextAsync(TestIso.Installed);
            await ConsoleSite.ScreenshotAsync(page, "vm-installing");
            await page.GetByRole(AriaRole.Button, new() { Name = "Shut down" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Powered off");
            Assert.Equal("stopped", (await site.Cli.JsonAsync("vm", "show", "golden-vm")).GetProperty("state").GetString());

            // Captured into a new vDisk, with the operation's progress.
            var capture = page.Locator("form:has(button:text('Capture'))");
            await capture.Locator("input[name='Capture.VDisk']").FillAsync("golden-img");
            await capture.GetByRole(AriaRole.Button, new() { Name = "Capture" }).ClickAsync();
            await Expect(page.Locator(".operation").GetByRole(AriaRole.Status)).ToContainTextAsync("Captured into vDisk golden-img, version 1", new() { Timeout = 120_000 });
            await ConsoleSite.ScreenshotAsync(page, "vm-captured");
            var golden = await site.Cli.JsonAsync("vdisk", "show", "golden-img");
            var vmDisk = (await site.Cli.JsonAsync("vm", "show", "golden-vm")).GetProperty("diskFile").GetString()!;
            await QemuImg.RunAsync("compare", Path.Combine(golden.GetProperty("storePath").GetString()!, golden.GetProperty("versions")[0].GetProperty("file").GetString()!), vmDisk);

            // A collection whose new devices get that vDisk, and a diskless VM registered in it.
            await page.GotoAsync("/console/collections");
            var collection = page.Locator("form:has(button:text('Add collection'))");
            await collection.GetByLabel("Name").FillAsync("golden-lab");
            await collection.GetByLabel("Naming pattern").FillAsync("GLAB-###");
            await collection.GetByLabel("Default vDisk").SelectOptionAsync("golden-img");
            await collection.GetByRole(AriaRole.Button, new() { Name = "Add collection" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Added collection golden-lab.");
            await page.GotoAsync("/console/vms");
            await create.Locator("input[name='Create.Name']").FillAsync("client-vm");
            await create.GetByLabel("Memory").FillAsync("256");
            await create.GetByLabel("Processors").FillAsync("1");
            await create.Locator("select[name='Create.Network']").SelectOptionAsync("netboot");
            await create.GetByLabel("Collection").SelectOptionAsync("golden-lab");
            await create.GetByRole(AriaRole.Button, new() { Name = "Create VM" }).ClickAsync();
            await Expect(page.Locator("dl.facts")).ToContainTextAsync("GLAB-001");
            Assert.Equal("golden-img", (await site.Cli.JsonAsync("device", "show", "GLAB-001")).GetProperty("assignments")[0].GetProperty("vdisk").GetString());

            // The dashboard open in another tab while the VM boots: its session appears there by itself.
            var dashboard = await page.Context.NewPageAsync();
            await dashboard.GotoAsync("/console");
            await Expect(dashboard.Locator("table.sessions tr", new() { HasText = "GLAB-001" })).ToHaveCountAsync(0);
            await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("It boots from http://10.0.2.2:" + site.HttpPort.ToString(CultureInfo.InvariantCulture));
            var row = dashboard.Locator("table.sessions tr", new() { HasText = "GLAB-001" });
            await Expect(row).ToContainTextAsync("golden-img", new() { Timeout = 300_000 });
            await Expect(dashboard.Locator(".booting")).ToContainTextAsync("GLAB-001");
            await ConsoleSite.ScreenshotAsync(dashboard, "dashboard-vm-booting");
            await Expect(page.Locator("#vm-console")).ToContainTextAsync(UpLine + " hostname=GLAB-001", new() { Timeout = 300_000 });
            await ConsoleSite.ScreenshotAsync(page, "vm-client-up");

            // Its boot's duration: the sessions page shows what the site recorded.
            var session = (await site.Cli.JsonAsync("session", "list")).EnumerateArray().Single(s => s.GetProperty("device").GetString() == "GLAB-001");
            var seconds = session.GetProperty("bootSeconds").GetDouble();
            // A SAN boot over HTTP: iPXE opened the disk at once, and the boot ran on until its initramfs connected
            // the root over NBD (joining iPXE's session, or in a session of its own once iPXE's had idled out).
            var issued = session.GetProperty("bootIssuedAt").GetDateTime();
            var firstRead = session.GetProperty("bootStartedAt").GetDateTime();
            var root = session.GetProperty("bootRootConnectedAt").GetDateTime();
            Assert.True(root > firstRead.AddSeconds(1), $"root connected {root:O}, a second or more after the disk's first read {firstRead:O}");
            Assert.Equal(Math.Round((root - issued).TotalSeconds, 1), seconds);
            await dashboard.GotoAsync("/console/sessions");
            await Expect(dashboard.Locator("table.sessions tr", new() { HasText = "GLAB-001" }).Locator("td.boot"))
                .ToHaveTextAsync(seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s");
            await ConsoleSite.ScreenshotAsync(dashboard, "sessions-vm");

            // Power off: its confirm step, then QEMU stops at once.
            await page.GetByRole(AriaRole.Link, new() { Name = "Power off…" }).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Power off now" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Stopped");
            Assert.Equal("stopped", (await site.Cli.JsonAsync("vm", "show", "client-vm")).GetProperty("state").GetString());
        }
        finally
        {
            // Whatever happened above, no QEMU outlives the test.
            await site.Cli.RunAsync("vm", "stop", "client-vm", "--hard");
            await site.Cli.RunAsync("vm", "stop", "golden-vm", "--hard");
        }
    }

    [Fact]
    public async Task A_vm_is_deleted_only_once_its_confirm_step_is_accepted()
    {
        await site.Cli.OkAsync("vm", "create", "doomed-vm", "--network", "none", "--disk-size", "8M", "--memory", "64", "--cores", "1", "--no-prompt");
        var folder = (await site.Cli.JsonAsync("vm", "show", "doomed-vm")).GetProperty("folder").GetString()!;
        var page = await site.SignedInPageAsync(ConsoleSite.Phone);
        await page.GotoAsync("/console/vms/doomed-vm");
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete VM doomed-vm…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync(folder);
        await ConsoleSite.ScreenshotAsync(page, "vm-confirm-delete");
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        Assert.Equal(0, (await site.Cli.RunAsync("vm", "show", "doomed-vm")).ExitCode);

        await page.GetByRole(AriaRole.Link, new() { Name = "Delete VM doomed-vm…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete VM doomed-vm" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Deleted VM doomed-vm and its files");
        Assert.NotEqual(0, (await site.Cli.RunAsync("vm", "show", "doomed-vm")).ExitCode);
        Assert.False(Directory.Exists(folder));
    }
}
