using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts.Requests;

namespace Streamboot.Remote;

/// <summary>Devices and their assignments through <c>/devices</c>.</summary>
internal sealed class RemoteDevices(ApiConnection api) : IDeviceAdmin, IAssignmentAdmin
{
    public Task<AdminResult<DeviceView>> AddAsync(string mac, DeviceChanges fields, CancellationToken cancellationToken = default) =>
        api.SendAsync<DeviceView>(
            HttpMethod.Post,
            Paths.Of("devices"),
            new DeviceCreate(mac, fields.Name, fields.Collection, fields.Description, fields.Type, fields.WriteCacheMode, fields.Enabled, fields.PersistentWriteCache, fields.IpAddress, fields.BootLoader),
            cancellationToken);

    public Task<AdminResult<IReadOnlyList<DeviceView>>> ListAsync(string? collection, CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<DeviceView>>(Paths.Query(Paths.Of("devices"), ("collection", collection)), cancellationToken);

    public Task<AdminResult<DeviceView>> ShowAsync(string key, CancellationToken cancellationToken = default) =>
        api.GetAsync<DeviceView>(Paths.Of("devices", key), cancellationToken);

    public Task<AdminResult<DeviceView>> SetAsync(string key, DeviceChanges changes, CancellationToken cancellationToken = default) =>
        api.SendAsync<DeviceView>(HttpMethod.Patch, Paths.Of("devices", key), changes, cancellationToken);

    public Task<AdminResult<DeviceView>> DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        api.SendAsync<DeviceView>(HttpMethod.Delete, Paths.Of("devices", key), null, cancellationToken);

    public Task<AdminResult<DeviceView>> AssignAsync(string deviceKey, string vdiskName, bool makeDefault, CancellationToken cancellationToken = default) =>
        api.SendAsync<DeviceView>(HttpMethod.Post, Paths.Of("devices", deviceKey, "assignments"), new AssignmentCreate(vdiskName, makeDefault), cancellationToken);

    public Task<AdminResult<DeviceView>> UnassignAsync(string deviceKey, string vdiskName, CancellationToken cancellationToken = default) =>
        api.SendAsync<DeviceView>(HttpMethod.Delete, Paths.Of("devices", deviceKey, "assignments", vdiskName), null, cancellationToken);
}
