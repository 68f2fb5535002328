using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>Which vDisks a device may boot: <see cref="AssignmentAdmin"/>, or the API's <c>/devices/{key}/assignments</c>.</summary>
public interface IAssignmentAdmin
{
    Task<AdminResult<DeviceView>> AssignAsync(string deviceKey, string vdiskName, bool makeDefault, CancellationToken cancellationToken = default);

    Task<AdminResult<DeviceView>> UnassignAsync(string deviceKey, string vdiskName, CancellationToken cancellationToken = default);
}
