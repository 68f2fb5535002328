using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;

namespace Streamboot.WebConsole;

/// <summary>
/// A device, vDisk, collection or VM that a console URL names and the site
/// does not have: the page answers 404 with the router's not-found page,
/// which says what is missing (the Admin layer's one line) and where the
/// list of such things is.
/// </summary>
public sealed record MissingThing(string Title, string Message, (string Url, string Text) Back)
{
    public const string Key = "streamboot.console.missing";

    /// <summary>
    /// Shows the not-found page with 404 for a GET (the page renders nothing
    /// more). A form post keeps its page and status: the page shows the
    /// message inline, as it shows any refusal.
    /// </summary>
    public bool Show(HttpContext context, NavigationManager navigation)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return false;
        }

        context.Items[Key] = this;
        navigation.NotFound();
        return true;
    }
}
