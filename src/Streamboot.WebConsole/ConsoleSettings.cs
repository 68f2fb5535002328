namespace Streamboot.WebConsole;

/// <summary>What the console needs from the server's options: where the site's files are and how it judges servers.</summary>
public sealed record ConsoleSettings(string DataFolder, TimeSpan ServerDownAfter, TimeSpan BootingWindow);
