using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// A destructive action's button leads to its confirm step (a page, no
/// browser dialog): dismissed, nothing changes in the site; accepted, the
/// Admin layer does it. The effect is checked through the command line.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConfirmTests(ConsoleSite site)
{
    [Fact]
    public async Task A_device_is_deleted_only_once_its_confirm_step_is_accepted()
    {
        await site.Cli.OkAsync("device", "add", "52:54:00:aa:c0:01", "--name", "DOOMED-01");
        var page = await site.SignedInPageAsync();
        await page.GotoAsync("/console/devices/DOOMED-01");

        await page.GetByRole(AriaRole.Link, new() { Name = "Delete device DOOMED-01…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("Delete device DOOMED-01?");
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{site.Base}/console/devices/DOOMED-01");
        Assert.Equal(0, (await site.Cli.RunAsync("device", "show", "DOOMED-01")).ExitCode);

        await page.GetByRole(AriaRole.Link, new() { Name = "Delete device DOOMED-01…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete device DOOMED-01" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{site.Base}/console/devices");
        Assert.NotEqual(0, (await site.Cli.RunAsync("device", "show", "DOOMED-01")).ExitCode);
    }

    [Fact]
    public async Task A_collection_is_deleted_only_once_its_confirm_step_is_accepted_and_a_refusal_is_shown()
    {
        await site.Cli.OkAsync("collection", "add", "doomed");
        await site.Cli.OkAsync("device", "add", "52:54:00:aa:c0:02", "--name", "DOOMED-02", "--collection", "doomed");
        var page = await site.SignedInPageAsync(ConsoleSite.Phone);
        await page.GotoAsync("/console/collections/doomed");

        await page.GetByRole(AriaRole.Link, new() { Name = "Delete collection doomed…" }).ClickAsync();
        await ConsoleSite.ScreenshotAsync(page, "collection-confirm-delete");
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        Assert.Equal(0, (await site.Cli.RunAsync("collection", "show", "doomed")).ExitCode);

        // Not empty: the Admin layer refuses, and says what to do.
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete collection doomed…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete collection doomed" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("still has 1 device(s)");
        Assert.Equal(0, (await site.Cli.RunAsync("collection", "show", "doomed")).ExitCode);

        await site.Cli.OkAsync("device", "delete", "DOOMED-02");
        await page.GotoAsync("/console/collections/doomed?confirm=delete");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete collection doomed" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{site.Base}/console/collections");
        Assert.NotEqual(0, (await site.Cli.RunAsync("collection", "show", "doomed")).ExitCode);
    }

    [Fact]
    public async Task The_confirm_step_alone_changes_nothing_and_its_form_needs_the_anti_forgery_token()
    {
        await site.Cli.OkAsync("device", "add", "52:54:00:aa:c0:03", "--name", "KEPT-03");
        var page = await site.SignedInPageAsync();
        // Reaching the confirm step is a GET: however often, nothing is deleted.
        for (var i = 0; i < 2; i++)
        {
            var shown = await page.GotoAsync("/console/devices/KEPT-03?confirm=delete");
            Assert.Equal(200, shown?.Status);
        }

        Assert.Equal(0, (await site.Cli.RunAsync("device", "show", "KEPT-03")).ExitCode);
        var form = page.APIRequest.CreateFormData();
        form.Set("_handler", "delete");
        var forged = await page.APIRequest.PostAsync("/console/devices/KEPT-03?confirm=delete", new() { Form = form, MaxRedirects = 0 });
        Assert.Equal(400, forged.Status);
        Assert.Equal(0, (await site.Cli.RunAsync("device", "show", "KEPT-03")).ExitCode);
    }
}
