using Streamboot.Admin.Areas;

namespace Streamboot.Remote;

/// <summary>A site run through its server's admin API: every area over one <see cref="ApiConnection"/>.</summary>
public sealed class RemoteSite : ISiteAdmin
{
    private readonly ApiConnection _api;
    private readonly RemoteDevices _devices;
    private readonly RemoteVDisks _vdisks;
    private readonly RemoteSiteAreas _site;

    public RemoteSite(RemoteSettings settings)
    {
        _api = new ApiConnection(settings);
        _devices = new RemoteDevices(_api);
        _vdisks = new RemoteVDisks(_api);
        _site = new RemoteSiteAreas(_api);
        Collections = new RemoteCollections(_api);
        Servers = new RemoteServers(_api);
        Vms = new RemoteVms(_api);
    }

    public bool FilesAreHere => false;

    public IDeviceAdmin Devices => _devices;

    public IAssignmentAdmin Assignments => _devices;

    public ICollectionAdmin Collections { get; }

    public IVDiskAdmin VDisks => _vdisks;

    public IVersionAdmin Versions => _vdisks;

    public IStoreAdmin Store => _site;

    public IServerAdmin Servers { get; }

    public ISiteQueries Queries => _site;

    public IBootAdmin Boots => _site;

    public ITokenAdmin Tokens => _site;

    public IVmAdmin Vms { get; }

    public ValueTask DisposeAsync()
    {
        _api.Dispose();
        return ValueTask.CompletedTask;
    }
}
