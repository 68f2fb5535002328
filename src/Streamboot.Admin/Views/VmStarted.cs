namespace Streamboot.Admin.Views;

/// <summary>
/// A started VM: its QEMU process (<see cref="Accelerator"/> kvm or tcg, a
/// note when it fell back), and where a NAT netboot VM boots from and why
/// that server (<see cref="NetbootSource"/>).
/// </summary>
public sealed record VmStarted(VmView Vm, int Pid, string Accelerator, string? Note, string? NetbootUrl, string? NetbootSource = null);
