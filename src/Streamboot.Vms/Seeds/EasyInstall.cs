namespace Streamboot.Vms.Seeds;

/// <summary>
/// What VMware calls easy install: who the first user is and what the
/// machine is called, written into a seed the guest's installer reads. The
/// password is here only on its way into the seed; nothing else keeps it.
/// </summary>
public sealed record EasyInstall(string FullName, string UserName, string Password, string HostName)
{
    /// <summary>Windows: the product key Setup installs with (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX); null to be asked or to use a generic key.</summary>
    public string? ProductKey { get; init; }

    /// <summary>Windows: the edition to install, the image's name in install.wim ("Windows 11 Pro"); null to be asked.</summary>
    public string? Edition { get; init; }

    /// <summary>Never the password, so a log or an exception message cannot carry it.</summary>
    public override string ToString() => $"EasyInstall {{ FullName = {FullName}, UserName = {UserName}, HostName = {HostName}, Edition = {Edition} }}";
}
