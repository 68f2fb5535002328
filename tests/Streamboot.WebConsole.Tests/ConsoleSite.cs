using System.Globalization;
using System.Net;
using Microsoft.Playwright;
using Streamboot.Testing;

namespace Streamboot.WebConsole.Tests;

/// <summary>
/// A real <c>streamboot serve</c> on loopback (admin password from
/// <c>--admin-password-file</c>, a vDisk <c>gold</c> and a VM <c>pagevm</c>
/// made by the command line, the import folder <c>DATA/import</c>) and
/// Debian's chromium, headless, driven by Playwright. Playwright's
/// own browser download does not work here, so the browser is the installed
/// one; without it the tests fail, saying what to install.
/// </summary>
public sealed class ConsoleSite : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    public const string Password = "console-test-password-1";

    /// <summary>A phone's screen (iPhone 12-15 class) in CSS pixels.</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    public static readonly ViewportSize Desktop = new() { Width = 1366, Height = 900 };

    private readonly StreambootCli _cli = new();
    private IPlaywright? _playwright;

    public StreambootCli Cli => _cli;

    public ServerProcess Server { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string Base { get; private set; } = "";

    public int NbdPort { get; private set; }

    public int HttpPort { get; private set; }

    /// <summary>The server's import folder (the default, <c>DATA/import</c>): disk images and ISOs the console offers.</summary>
    public string ImportFolder => Path.Combine(_cli.DataFolder, "import");

    public static string ScreenshotFolder { get; } = Path.Combine(Repository.Root, "artifacts", "test-results", "console-screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing: install Debian's 'chromium' package (./test.sh does); the console tests drive it and never download a browser");
        }

        await _cli.OkAsync("vdisk", "create", "gold", "--size", "16M", "--format", "qcow2");
        await _cli.OkAsync("vm", "create", "pagevm", "--network", "none", "--disk-size", "8M", "--memory", "64", "--cores", "1", "--no-prompt");
        Directory.CreateDirectory(ImportFolder);
        var passwordFile = Path.Combine(_cli.DataFolder, "admin-password.txt");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        var http = Ports.Free();
        HttpPort = http;
        NbdPort = Ports.Free();
        Base = $"http://127.0.0.1:{http}";
        Server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--nbd-port", Text(NbdPort), "--admin-password-file", passwordFile]);
        using var health = await Server.WaitForHttpAsync($"{Base}/healthz", TimeSpan.FromMinutes(3));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        Directory.CreateDirectory(ScreenshotFolder);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // CI runs as root, where chromium refuses to start with its sandbox.
            Args = ["--no-sandbox"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Server is not null)
        {
            await Server.TerminateAsync(TimeSpan.FromSeconds(30));
            await Server.DisposeAsync();
        }

        _cli.Dispose();
    }

    /// <summary>A new browser (own cookies) at the given viewport, not signed in; <paramref name="baseUrl"/> another server of the site.</summary>
    public async Task<IPage> NewPageAsync(ViewportSize? viewport = null, string? baseUrl = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl ?? Base, ViewportSize = viewport ?? Desktop });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    /// <summary>A new browser signed in as admin through the sign-in page (of <paramref name="baseUrl"/>, another server of the site).</summary>
    public async Task<IPage> SignedInPageAsync(ViewportSize? viewport = null, string? baseUrl = null)
    {
        var page = await NewPageAsync(viewport, baseUrl);
        await SignInAsync(page, "admin", Password);
        await Assertions.Expect(page).ToHaveURLAsync($"{baseUrl ?? Base}/console");
        return page;
    }

    public static async Task SignInAsync(IPage page, string account, string password)
    {
        await page.GotoAsync("/console/signin");
        await page.GetByLabel("Account").FillAsync(account);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>Keeps a full-page screenshot as a test artifact: NAME-desktop.png or NAME-phone.png.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var kind = page.ViewportSize?.Width <= Phone.Width ? "phone" : "desktop";
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, $"{name}-{kind}.png"), FullPage = true });
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleSite>
{
    public const string Name = "console";
}
