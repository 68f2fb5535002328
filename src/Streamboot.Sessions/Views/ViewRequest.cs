namespace Streamboot.Sessions.Views;

/// <summary>
/// A client asks for a view of a vDisk: <paramref name="Name"/> as it
/// sent it (see <see cref="ViewName"/>), over <paramref name="Protocol"/>
/// (nbd, http, iscsi), from <paramref name="Remote"/> (its address, with or
/// without a port).
/// </summary>
public sealed record ViewRequest(string Name, string Protocol, string? Remote);
