namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>
/// What a DHCP client told its hook script: one block of environment per
/// call. The script (written per test) appends "event=REASON", the
/// environment, and a separator to a file, and configures the address in the
/// namespace when the client binds, so renewals can be unicast.
/// </summary>
public sealed class ScriptEvents
{
    private const string Separator = "--streamboot--";

    private ScriptEvents(IReadOnlyList<IReadOnlyDictionary<string, string>> events) => Events = events;

    public IReadOnlyList<IReadOnlyDictionary<string, string>> Events { get; }

    public IReadOnlyDictionary<string, string>? Last(params string[] reasons) =>
        Events.LastOrDefault(e => reasons.Contains(Reason(e)));

    /// <summary>udhcpc passes the event as $1, dhclient as $reason.</summary>
    private static string? Reason(IReadOnlyDictionary<string, string> e) =>
        e.GetValueOrDefault("event") is { Length: > 0 } udhcpc ? udhcpc : e.GetValueOrDefault("reason");

    /// <summary>A script that records its environment to <paramref name="output"/> and runs <paramref name="configure"/>.</summary>
    public static string WriteScript(string path, string output, string configure)
    {
        File.WriteAllText(path, $"""
            #!/bin/sh
            {"{"} echo "event=$1"; env; echo "{Separator}"; {"}"} >> {output}
            {configure}
            exit 0

            """);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    public static ScriptEvents Read(string output)
    {
        var events = new List<IReadOnlyDictionary<string, string>>();
        if (!File.Exists(output))
        {
            return new ScriptEvents(events);
        }

        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(output))
        {
            if (line == Separator)
            {
                events.Add(current);
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                current[line[..equals]] = line[(equals + 1)..];
            }
        }

        return new ScriptEvents(events);
    }

    public override string ToString() =>
        string.Join("\n\n", Events.Select(e => string.Join('\n', e.Where(p => !p.Key.StartsWith("PATH", StringComparison.Ordinal)).Select(p => $"{p.Key}={p.Value}"))));
}
