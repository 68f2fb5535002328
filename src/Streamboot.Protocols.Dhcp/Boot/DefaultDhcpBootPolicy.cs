using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Boot;

/// <summary>
/// Boots every PXE client the same way: iPXE gets the script URL, BIOS gets
/// undionly.kpxe, x64 UEFI gets ipxe.efi, anything else is not booted. The
/// host replaces it with a policy that reads its database.
/// </summary>
public sealed class DefaultDhcpBootPolicy(DefaultDhcpBootPolicyOptions? options = null) : IDhcpBootPolicy
{
    private readonly DefaultDhcpBootPolicyOptions _options = options ?? new DefaultDhcpBootPolicyOptions();

    public ValueTask<DhcpBootDecision> DecideAsync(DhcpBootRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(Decide(request));

    public DhcpBootDecision Decide(DhcpBootRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var file = request.IsIpxe
            ? _options.IpxeScriptUrl?.Replace("{server}", request.ServerAddress.ToString(), StringComparison.Ordinal)
                .Replace("{mac}", request.Mac.ToString(), StringComparison.Ordinal)
            : request.Architecture switch
            {
                DhcpClientArchitecture.IntelX86Pc => _options.BiosBootFile,
                DhcpClientArchitecture.EfiBc or DhcpClientArchitecture.EfiX8664 => _options.EfiX64BootFile,
                DhcpClientArchitecture.EfiIa32 => _options.EfiIa32BootFile,
                _ => null,
            };
        return string.IsNullOrEmpty(file) ? DhcpBootDecision.NoBoot : DhcpBootDecision.Boot(file);
    }
}
