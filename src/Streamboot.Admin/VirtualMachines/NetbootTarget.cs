namespace Streamboot.Admin.VirtualMachines;

/// <summary>Where a started NAT netboot VM's iPXE loads its boot script, and why that port.</summary>
public sealed record NetbootTarget(string Url, int Port, string Source);
