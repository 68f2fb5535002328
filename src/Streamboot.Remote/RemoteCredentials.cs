using System.Net.Http.Headers;
using System.Text;

namespace Streamboot.Remote;

/// <summary>
/// Who the command line is to the server: an API token (<c>Bearer</c>) or an
/// admin account's name and password (<c>Basic</c>). Both come from the
/// environment, never from flags, which shell history and <c>ps</c> show.
/// </summary>
public sealed class RemoteCredentials
{
    private readonly AuthenticationHeaderValue _header;

    private RemoteCredentials(AuthenticationHeaderValue header, string source)
    {
        _header = header;
        Source = source;
    }

    /// <summary>Where they came from, for messages: <c>STREAMBOOT_TOKEN</c>, or the account's variables.</summary>
    public string Source { get; }

    public bool IsToken => _header.Scheme == "Bearer";

    public static RemoteCredentials Token(string token) => new(new AuthenticationHeaderValue("Bearer", token.Trim()), "STREAMBOOT_TOKEN");

    public static RemoteCredentials Account(string name, string password) =>
        new(new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{name}:{password}"))), $"the account {name} (STREAMBOOT_USER, STREAMBOOT_PASSWORD)");

    internal void Apply(HttpRequestMessage request) => request.Headers.Authorization = _header;

    /// <summary>Never the secret: a record's or an object's text can end up in a log.</summary>
    public override string ToString() => Source;
}
