using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Streamboot.WebConsole.Tests;

/// <summary>Who gets in: the sign-in page, the cookie, the anti-forgery tokens.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class SignInTests(ConsoleSite site)
{
    [Fact]
    public async Task A_wrong_password_is_refused_with_a_message_and_the_right_one_signs_in()
    {
        var page = await site.NewPageAsync();
        await ConsoleSite.SignInAsync(page, "admin", "not-the-password");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong account name or password.");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/signin"));
        await ConsoleSite.ScreenshotAsync(page, "signin-refused");

        await ConsoleSite.SignInAsync(page, "admin", ConsoleSite.Password);
        await Expect(page).ToHaveURLAsync($"{site.Base}/console");
        await Expect(page.Locator("header .who")).ToHaveTextAsync("account:admin");
        var cookie = (await page.Context.CookiesAsync()).Single(c => c.Name == "streamboot-console");
        Assert.True(cookie.HttpOnly, "the sign-in cookie must be HttpOnly");
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("/console", cookie.Path);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/signin"));
        await page.GotoAsync("/console/devices");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/signin\\?returnUrl=%2Fconsole%2Fdevices"));
    }

    [Fact]
    public async Task A_sign_in_page_sends_back_to_the_page_asked_for()
    {
        var page = await site.NewPageAsync();
        await page.GotoAsync("/console/audit");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/signin"));
        await page.GetByLabel("Account").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync(ConsoleSite.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{site.Base}/console/audit");
    }

    [Theory]
    [InlineData("/console")]
    [InlineData("/console/devices")]
    [InlineData("/console/devices/PC-1")]
    [InlineData("/console/collections")]
    [InlineData("/console/vdisks")]
    [InlineData("/console/vdisks/gold")]
    [InlineData("/console/sessions")]
    [InlineData("/console/leases")]
    [InlineData("/console/audit")]
    [InlineData("/console/live")]
    [InlineData("/console/servers")]
    [InlineData("/console/vms")]
    [InlineData("/console/vms/pagevm")]
    [InlineData("/console/vms/pagevm/console")]
    [InlineData("/console/access")]
    [InlineData("/console/operations/0123456789abcdef0123456789abcdef")]
    public async Task A_page_without_the_cookie_redirects_to_sign_in(string path)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var response = await http.GetAsync(site.Base + path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/signin", response.Headers.Location?.AbsolutePath);
        Assert.DoesNotContain("<table", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dashboard_panel_asked_by_htmx_without_the_cookie_sends_the_browser_to_sign_in()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, site.Base + "/console/live");
        request.Headers.Add("HX-Request", "true");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("/console/signin", response.Headers.GetValues("HX-Redirect").Single());
    }

    [Fact]
    public async Task A_post_without_the_anti_forgery_token_is_refused()
    {
        var page = await site.SignedInPageAsync();
        // The browser's own cookies (signed in), a form post as a forged page would send it: no token.
        var forged = await page.APIRequest.PostAsync("/console/devices", new APIRequestContextOptions
        {
            Form = Form(page.APIRequest, ("_handler", "add-device"), ("Add.Mac", "52:54:00:66:66:66"), ("Add.Collection", "default")),
            MaxRedirects = 0,
        });
        Assert.Equal(400, forged.Status);
        var signOut = await page.APIRequest.PostAsync("/console/signout", new APIRequestContextOptions { MaxRedirects = 0 });
        Assert.Equal(400, signOut.Status);

        // The same post with the page's token does what it says: the token was the only thing missing.
        await page.GotoAsync("/console/devices");
        var token = await page.Locator("form:has(button:text('Add device')) input[name=__RequestVerificationToken]").GetAttributeAsync("value");
        var real = await page.APIRequest.PostAsync("/console/devices", new APIRequestContextOptions
        {
            Form = Form(page.APIRequest, ("_handler", "add-device"), ("__RequestVerificationToken", token!), ("Add.Mac", "52:54:00:66:66:67"), ("Add.Collection", "default")),
            MaxRedirects = 0,
        });
        Assert.Equal(200, real.Status);
        await page.GotoAsync("/console/devices");
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "52:54:00:66:66:67" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "52:54:00:66:66:66" })).ToHaveCountAsync(0);
    }

    private static IFormData Form(IAPIRequestContext request, params (string Name, string Value)[] fields)
    {
        var form = request.CreateFormData();
        foreach (var (name, value) in fields)
        {
            form.Set(name, value);
        }

        return form;
    }
}
