namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// Which server's HTTP port a netboot VM behind QEMU's NAT is sent to:
/// <see cref="Port"/> when the admin named one, else the running server
/// of this site (from its row in the servers table), else
/// <see cref="ConfiguredPort"/> (STREAMBOOT_HTTP_PORT, 8080 by default).
/// </summary>
public sealed record NetbootServer(int? Port, int ConfiguredPort, TimeSpan Heartbeat);
