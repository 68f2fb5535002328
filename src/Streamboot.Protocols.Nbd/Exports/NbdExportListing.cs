namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>One NBD_REP_SERVER entry of NBD_OPT_LIST.</summary>
public readonly record struct NbdExportListing(string Name, string? Description = null);
