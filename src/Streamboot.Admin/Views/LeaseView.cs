namespace Streamboot.Admin.Views;

/// <summary>A DHCP lease of full mode, with the device it belongs to when the MAC is registered.</summary>
public sealed record LeaseView(string Address, string Mac, string? Device, string State, DateTime ExpiresAt, string? HostName);
