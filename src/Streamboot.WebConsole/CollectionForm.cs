using Streamboot.Admin;
using Streamboot.Admin.Views;

namespace Streamboot.WebConsole;

/// <summary>A collection's form as posted; every field a string, as the Admin layer parses them.</summary>
public sealed class CollectionForm
{
    public string? Name { get; set; }

    public string? NamingPattern { get; set; }

    public string? UnknownDevicePolicy { get; set; }

    public string? DefaultVDisk { get; set; }

    public string? BootProtocol { get; set; }

    public string? BootLoader { get; set; }

    public string? Description { get; set; }

    public bool ReceivesUnknown { get; set; }

    public static CollectionForm Of(CollectionView c) => new()
    {
        Name = c.Name,
        NamingPattern = c.NamingPattern,
        UnknownDevicePolicy = ConsoleText.Name(c.UnknownDevicePolicy),
        DefaultVDisk = c.DefaultVDisk ?? "none",
        BootProtocol = c.BootProtocol is { } b ? ConsoleText.Name(b) : "",
        BootLoader = c.BootLoader is { } l ? ConsoleText.Name(l) : "",
        Description = c.Description,
        ReceivesUnknown = c.ReceivesUnknown,
    };

    /// <summary>
    /// The changes this form asks for. Receiving unknown devices is only ever
    /// given to a collection (never taken away here: one collection always has
    /// it, and it moves by giving it to another).
    /// </summary>
    public CollectionChanges Changes(bool adding) => new(
        adding ? null : Name?.Trim(),
        adding ? Blank(Description) : Description ?? "",
        Blank(NamingPattern),
        Blank(UnknownDevicePolicy),
        adding && DefaultVDisk == "none" ? null : Blank(DefaultVDisk),
        ReceivesUnknown ? true : null,
        adding ? Blank(BootProtocol) : Blank(BootProtocol) ?? "auto",
        adding ? Blank(BootLoader) : Blank(BootLoader) ?? "auto");

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
