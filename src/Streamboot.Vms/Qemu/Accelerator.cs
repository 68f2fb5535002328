namespace Streamboot.Vms.Qemu;

/// <summary>How QEMU runs the guest's instructions.</summary>
public enum Accelerator
{
    /// <summary>KVM when the probe shows it works, plain emulation otherwise.</summary>
    Auto,

    /// <summary>Hardware virtualisation through /dev/kvm.</summary>
    Kvm,

    /// <summary>QEMU's own translator (TCG): slower, works everywhere.</summary>
    Tcg,
}
