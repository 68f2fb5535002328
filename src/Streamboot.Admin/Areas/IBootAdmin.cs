using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>
/// An admin's boot of a device (<c>session key</c>), decided as its boot
/// script would be: the session layer's <c>AdminBoots</c>, or the API's
/// <c>POST /devices/{key}/boots</c>.
/// </summary>
public interface IBootAdmin
{
    /// <summary><paramref name="vdisk"/> chooses among the device's vDisks when it has several.</summary>
    Task<AdminResult<IssuedBoot>> IssueAsync(string device, string? vdisk, CancellationToken cancellationToken = default);
}
