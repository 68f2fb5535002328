namespace Streamboot.WebConsole;

/// <summary>What the console needs from the server's options: where the site's files are and how it judges servers.</summary>
public sealed record ConsoleSettings(string DataFolder, TimeSpan ServerDownAfter, TimeSpan BootingWindow)
{
    /// <summary>The folders imports and VM installer ISOs come from (<c>ApiImportFolders</c>, <c>DATA/import</c>), each ending in '/'.</summary>
    public IReadOnlyList<string> ImportFolders { get; init; } = [];

    /// <summary>This server's HTTP port: the one a NAT netboot VM boots from when no server of the site runs.</summary>
    public int HttpPort { get; init; } = 8080;

    /// <summary>The heartbeat interval, by which a VM's start judges which servers of the site run.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a long operation's start waits to see it under way, or refused by the Admin layer's checks.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(2);
}
