using Streamboot.Data.Model;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Sessions;

namespace Streamboot.Server.Network;

/// <summary>
/// The site's answer to "what does this PXE client boot first?": a x64 UEFI
/// machine (option 93 = 7 or 9) whose boot loader is secure-boot (its own
/// setting, else its collection's) gets the Microsoft-signed shim, which its
/// firmware starts with Secure Boot on; everyone else what
/// <see cref="DefaultDhcpBootPolicy"/> says (iPXE, or the script's URL for a
/// client that runs iPXE already). Which loader is the session layer's
/// answer; this only translates it into a file name.
/// </summary>
internal sealed class SiteDhcpBootPolicy(DefaultDhcpBootPolicy defaults, IBootSessions sessions, string secureBootFile) : IDhcpBootPolicy
{
    public async ValueTask<DhcpBootDecision> DecideAsync(DhcpBootRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.IsIpxe
            && request.Architecture is DhcpClientArchitecture.EfiBc or DhcpClientArchitecture.EfiX8664
            && await sessions.LoaderAsync(request.Mac.ToString(), cancellationToken) == BootLoader.SecureBoot)
        {
            return DhcpBootDecision.Boot(secureBootFile);
        }

        return defaults.Decide(request);
    }
}
