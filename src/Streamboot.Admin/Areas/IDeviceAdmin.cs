using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>Devices (client machines): <see cref="DeviceAdmin"/> over the database, or the API's <c>/devices</c>.</summary>
public interface IDeviceAdmin
{
    Task<AdminResult<DeviceView>> AddAsync(string mac, DeviceChanges fields, CancellationToken cancellationToken = default);

    /// <summary>Every device, or a collection's (not found when it does not exist).</summary>
    Task<AdminResult<IReadOnlyList<DeviceView>>> ListAsync(string? collection, CancellationToken cancellationToken = default);

    /// <summary><paramref name="key"/> is a device's name or MAC.</summary>
    Task<AdminResult<DeviceView>> ShowAsync(string key, CancellationToken cancellationToken = default);

    Task<AdminResult<DeviceView>> SetAsync(string key, DeviceChanges changes, CancellationToken cancellationToken = default);

    Task<AdminResult<DeviceView>> DeleteAsync(string key, CancellationToken cancellationToken = default);
}
