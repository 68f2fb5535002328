namespace Streamboot.Vms.Seeds;

/// <summary>
/// What VMware calls easy install: who the first user is and what the
/// machine is called, written into a seed the guest's installer reads. The
/// password is here only on its way into the seed; nothing else keeps it.
/// </summary>
public sealed record EasyInstall(string FullName, string UserName, string Password, string HostName)
{
    /// <summary>Never the password, so a log or an exception message cannot carry it.</summary>
    public override string ToString() => $"EasyInstall {{ FullName = {FullName}, UserName = {UserName}, HostName = {HostName} }}";
}
