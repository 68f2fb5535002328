using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// Which boot loader DHCP sends a x64 UEFI machine: the device's own choice,
/// else its collection's; a machine the database does not know gets the
/// choice of the collection that receives unknown devices. Unset everywhere
/// is auto, which is iPXE: it boots every vDisk every way (SAN boot over HTTP
/// and iSCSI, Windows), and a machine with Secure Boot on is named once
/// (docs/secure-boot.md says why). DHCP asks for every packet of an
/// exchange, so answers are kept for a few seconds, for a bounded number of
/// MAC addresses.
/// </summary>
internal sealed class LoaderChoice(SiteDatabase database, TimeProvider clock)
{
    private static readonly TimeSpan s_keep = TimeSpan.FromSeconds(5);
    private const int MaxKept = 4096;
    private readonly ConcurrentDictionary<MacAddress, (BootLoader Loader, DateTime At)> _kept = new();

    public async Task<BootLoader> ForAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_kept.TryGetValue(mac, out var kept) && now - kept.At < s_keep)
        {
            return kept.Loader;
        }

        var canonical = mac.ToString();
        await using var db = database.CreateContext();
        var device = await db.Devices.Where(d => d.Mac == canonical)
            .Select(d => new { Own = d.BootLoader, Collection = d.Collection!.BootLoader }).FirstOrDefaultAsync(cancellationToken);
        var loader = device is not null
            ? device.Own ?? device.Collection
            : await db.Collections.Where(c => c.ReceivesUnknown).Select(c => c.BootLoader).FirstOrDefaultAsync(cancellationToken);
        var chosen = loader ?? BootLoader.Ipxe;
        if (_kept.Count >= MaxKept)
        {
            _kept.Clear();
        }

        _kept[mac] = (chosen, now);
        return chosen;
    }
}
