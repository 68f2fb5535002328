using Streamboot.Admin;
using Streamboot.Admin.Access;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Stores;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Cli;

/// <summary>The site on this machine: each area is the Admin layer's own class over the site database.</summary>
public sealed class LocalSite(AdminSite site) : ISiteAdmin
{
    public bool FilesAreHere => true;

    public IDeviceAdmin Devices { get; } = new DeviceAdmin(site);

    public IAssignmentAdmin Assignments { get; } = new AssignmentAdmin(site);

    public ICollectionAdmin Collections { get; } = new CollectionAdmin(site);

    public IVDiskAdmin VDisks { get; } = new VDiskAdmin(site);

    public IVersionAdmin Versions { get; } = new VersionAdmin(site);

    public IStoreAdmin Store { get; } = new StoreAdmin(site);

    public IServerAdmin Servers { get; } = new ServerAdmin(site);

    public ISiteQueries Queries { get; } = new SiteQueries(site);

    public IBootAdmin Boots { get; } = new AdminBoots(site);

    public ITokenAdmin Tokens { get; } = new AccessAdmin(site);

    public IVmAdmin Vms { get; } = new VmArea(site);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
