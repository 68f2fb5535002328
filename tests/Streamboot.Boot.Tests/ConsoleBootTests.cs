using Microsoft.Playwright;
using Streamboot.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The web console's dashboard, open in a browser, while a real diskless VM
/// boots: its session appears without a reload, as htmx polls the panel.
/// The server runs in the boot network's namespace, so the browser (Debian's
/// chromium, driven by Playwright over a pipe) runs there too.
/// </summary>
public sealed class ConsoleBootTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Mac = "52:54:00:c0:15:01";

    [Fact]
    public async Task A_booting_vm_appears_on_the_open_dashboard_while_it_boots()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's 'chromium' package (./test.sh does)");
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "testos");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "CONSOLE-01");
        await site.Cli.OkAsync("assign", "CONSOLE-01", "testos");
        var password = Path.Combine(site.Folder.Path, "admin-password");
        await File.WriteAllTextAsync(password, "boot-console-password\n");
        await site.StartServerAsync(["--admin-password-file", password]);
        await site.StartIpxeDhcpAsync();

        // chromium inside the namespace: 'ip netns exec' execs it, keeping Playwright's pipe.
        var wrapper = Path.Combine(site.Folder.Path, "chromium-in-netns");
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec ip netns exec {site.Network.Name} {Chromium} \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = wrapper, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = site.BaseUrl, ViewportSize = new ViewportSize { Width = 1366, Height = 900 } });
        await page.GotoAsync("/console/signin");
        await page.GetByLabel("Account").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync("boot-console-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeVisibleAsync();
        await Expect(page.Locator("#live-sessions")).ToHaveTextAsync("0");

        var vm = await site.StartVmAsync(Mac);
        var row = page.Locator("table.sessions tr", new() { HasText = "CONSOLE-01" });
        await Expect(row).ToContainTextAsync("testos", new() { Timeout = 180_000 });
        var seen = vm.SinceStart.Elapsed.TotalSeconds;
        await Expect(page.Locator(".booting")).ToContainTextAsync("CONSOLE-01");
        await Screenshot(page, "dashboard-vm-booting");

        var report = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"session on the dashboard {seen:F1} s after QEMU started; test OS up at {report.Seconds:F1} s");
        Assert.Equal("CONSOLE-01", report["hostname"]);
        await Expect(row).ToContainTextAsync("v1");
        await Screenshot(page, "dashboard-vm-up");
    }

    private static async Task Screenshot(IPage page, string name)
    {
        var folder = Path.Combine(Repository.Root, "artifacts", "test-results", "console-screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, $"{name}-desktop.png"), FullPage = true });
    }
}
