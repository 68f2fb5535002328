namespace Streamboot.Api.Contracts.Requests;

/// <summary>How to start a VM (<c>vm start</c>): the accelerator, and the port a NAT netboot VM boots from.</summary>
public sealed record VmStart(string? Accel = null, int? ServerPort = null);
