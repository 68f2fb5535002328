using System.Net;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Credentials;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// Step 2 of the boot: which vDisk a client runs and under which name.
/// A known device boots its one vDisk or sees a menu of several; an unknown
/// machine falls into the collection that receives unknown devices, whose
/// policy registers it (next name from the pattern, a new machine id, the
/// collection's default vDisk), offers it a menu of vDisks to register with,
/// or refuses it with a message that says how to register it. A device whose
/// identity is live in a session from another address is refused: one
/// identity never runs twice. A decision to boot issues the boot's key and
/// changes nothing else: the boot starts when the key opens the disk.
/// </summary>
internal sealed class BootPlanner(AdminSite site, SessionSettings settings, BootCredentials credentials, Farm.ServerPlacement placement, SecureBootChain secureBoot)
{
    public async Task<BootDecision> DecideAsync(BootRequest request, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(request.Mac))
        {
            return new BootRefused(BootRefusal.BadRequest, "the boot request names no MAC address; iPXE should ask for /boot.ipxe?mac=${net0/mac}");
        }

        if (!MacAddress.TryParse(request.Mac, out var mac))
        {
            return new BootRefused(BootRefusal.BadRequest, $"'{ClientText.ForLog(request.Mac, 64)}' is not a MAC address");
        }

        if (settings.ScriptsOnlyToLeasedAddress && !await LeasedToAsync(mac, request.RemoteAddress, cancellationToken))
        {
            return new BootRefused(BootRefusal.NotLeased, $"this boot script is only given to the address this server's DHCP leased to {mac}; renew the lease (boot again) and ask from that address");
        }

        var registered = false;
        await using (var db = site.Database.CreateContext())
        {
            var canonical = mac.ToString();
            if (!await db.Devices.AnyAsync(d => d.Mac == canonical, cancellationToken))
            {
                var unknown = await UnknownAsync(db, mac, request, cancellationToken);
                if (unknown is not null)
                {
                    return unknown;
                }

                registered = true;
            }
        }

        return await KnownAsync(mac, request, registered, cancellationToken);
    }

    /// <summary>Whether this site's full-mode DHCP leased <paramref name="remote"/> to the MAC, or reserved it for its device.</summary>
    private async Task<bool> LeasedToAsync(MacAddress mac, string? remote, CancellationToken cancellationToken)
    {
        if (remote is null || !IPAddress.TryParse(remote, out var address))
        {
            return false;
        }

        var ip = address.ToString();
        var key = mac.ToString();
        var now = site.UtcNow;
        await using var db = site.Database.CreateContext();
        return await db.DhcpLeases.AnyAsync(l => l.Address == ip && l.Mac == key && l.State == "bound" && l.ExpiresAt > now, cancellationToken)
            || await db.Devices.AnyAsync(d => d.Mac == key && d.IpAddress == ip, cancellationToken);
    }

    /// <summary>Null when the machine was registered and boots as a known device now.</summary>
    private async Task<BootDecision?> UnknownAsync(StreambootDbContext db, MacAddress mac, BootRequest request, CancellationToken cancellationToken)
    {
        var register = $"'streamboot device add {mac}' registers it";
        if (site.Database.Offline)
        {
            // A name and a machine id given now could be given by another server too.
            return new BootRefused(BootRefusal.SiteOffline, $"this machine ({mac}) is not registered, and new machines are registered only while the site database answers (it does not now); this screen asks again, or {register} once it is back");
        }

        var collection = await db.Collections.Include(c => c.DefaultVDisk).FirstOrDefaultAsync(c => c.ReceivesUnknown, cancellationToken);
        if (collection is null)
        {
            return new BootRefused(BootRefusal.UnknownDevice, $"this machine ({mac}) is not registered and no collection receives unknown machines; {register}");
        }

        switch (collection.UnknownDevicePolicy)
        {
            case UnknownDevicePolicy.Refuse:
                return new BootRefused(BootRefusal.UnknownDevice, $"this machine ({mac}) is not registered; {register}");

            case UnknownDevicePolicy.AutoRegister:
                if (collection.DefaultVDisk is null)
                {
                    return new BootRefused(
                        BootRefusal.UnknownDevice,
                        $"this machine ({mac}) is not registered, and collection '{collection.Name}' registers machines but has no default vDisk; 'streamboot collection set {collection.Name} --default-vdisk VDISK' sets one");
                }

                return await RegisterAsync(mac, collection, collection.DefaultVDisk.Name, cancellationToken);

            default:
                if (request.Register is not null)
                {
                    return await RegisterAsync(mac, collection, request.Register, cancellationToken);
                }

                var vdisks = await db.VDisks.Where(v => v.Versions.Any(x => x.Stage == VersionStage.Production))
                    .OrderBy(v => v.Name).Select(v => new BootMenuItem(v.Name, v.Description)).ToListAsync(cancellationToken);
                return vdisks.Count == 0
                    ? new BootRefused(BootRefusal.UnknownDevice, $"this machine ({mac}) is not registered and there is no vDisk in production to register it with; {register}")
                    : new RegistrationMenu(mac.ToString(), collection.Name, vdisks);
        }
    }

    /// <summary>Adds the machine to the collection with the vDisk assigned, in one transaction; a concurrent request that registered it first is fine.</summary>
    private async Task<BootDecision?> RegisterAsync(MacAddress mac, Collection collection, string vdisk, CancellationToken cancellationToken)
    {
        long vdiskId;
        await using (var db = site.Database.CreateContext())
        {
            var lower = vdisk.Trim().ToLowerInvariant();
            var chosen = await db.VDisks.FirstOrDefaultAsync(v => v.Name.ToLower() == lower, cancellationToken);
            if (chosen is null)
            {
                return new BootRefused(BootRefusal.RegistrationFailed, $"cannot register this machine ({mac}): there is no vDisk '{ClientText.ForLog(vdisk, 64)}'");
            }

            if (chosen.AccessMode == AccessMode.Private && await db.Assignments.AnyAsync(a => a.VDiskId == chosen.Id, cancellationToken))
            {
                return new BootRefused(BootRefusal.RegistrationFailed, $"cannot register this machine ({mac}) with vDisk '{chosen.Name}': it is a private image and already has its device");
            }

            vdiskId = chosen.Id;
        }

        var added = await new DeviceAdmin(site).AddAsync(mac.ToString(), new DeviceChanges(Collection: collection.Name), vdiskId, cancellationToken);
        if (added.Ok)
        {
            return null;
        }

        await using (var db = site.Database.CreateContext())
        {
            // Two boot requests from one machine race: the other one registered it.
            return await db.Devices.AnyAsync(d => d.Mac == mac.ToString(), cancellationToken)
                ? null
                : new BootRefused(BootRefusal.RegistrationFailed, $"cannot register this machine ({mac}): {added.Error.Message}");
        }
    }

    private async Task<BootDecision> KnownAsync(MacAddress mac, BootRequest request, bool registered, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var device = await db.Devices.AsNoTracking().Include(d => d.Collection)
            .Include(d => d.Assignments).ThenInclude(a => a.VDisk).ThenInclude(v => v!.Versions)
            .FirstOrDefaultAsync(d => d.Mac == mac.ToString(), cancellationToken);
        if (device is null)
        {
            return new BootRefused(BootRefusal.UnknownDevice, $"this machine ({mac}) was deleted while it booted; 'streamboot device add {mac}' registers it again");
        }

        var identity = Identity(device);
        if (!device.Enabled)
        {
            return new BootRefused(BootRefusal.Disabled, $"{device.Name} ({mac}) is disabled; 'streamboot device set {device.Name} --enabled true' enables it") { Device = identity };
        }

        var live = await db.Sessions.Where(s => s.DeviceId == device.Id && s.EndedAt == null).Select(s => s.RemoteAddress).ToListAsync(cancellationToken);
        if (live.Any(remote => !SameHost(remote, request.RemoteAddress)))
        {
            // Who holds it is the admin's to see (the server log, 'session
            // list'), not whoever asks with this MAC.
            return new BootRefused(
                BootRefusal.IdentityInUse,
                $"{device.Name} ({mac}) is running on another machine right now; one identity never runs twice. Shut that machine down, or ask an admin ('streamboot session list')")
            {
                Device = identity,
            };
        }

        var assignments = device.Assignments.OrderBy(a => a.Position).ToList();
        if (assignments.Count == 0)
        {
            return new BootRefused(BootRefusal.NotAssigned, $"{device.Name} ({mac}) has no vDisk; 'streamboot assign {device.Name} VDISK' gives it one") { Device = identity };
        }

        Assignment chosen;
        if (request.VDisk is not null)
        {
            var match = assignments.Find(a => string.Equals(a.VDisk!.Name, request.VDisk, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                return new BootRefused(BootRefusal.NotAssigned, $"{device.Name} ({mac}) is not assigned vDisk '{ClientText.ForLog(request.VDisk, 64)}'") { Device = identity };
            }

            chosen = match;
        }
        else if (assignments.Count == 1)
        {
            chosen = assignments[0];
        }
        else
        {
            var defaultIndex = Math.Max(0, assignments.FindIndex(a => a.IsDefault));
            return new BootMenu(identity, [.. assignments.Select(a => new BootMenuItem(a.VDisk!.Name, a.VDisk.Description))], defaultIndex);
        }

        var vdisk = chosen.VDisk!;
        var version = VersionSelection.ForDevice(device.Type, vdisk.Versions);
        if (version is null)
        {
            return new BootRefused(BootRefusal.NoVersion, $"vDisk '{vdisk.Name}' has no version for {KebabCase.Of(device.Type)} devices like {device.Name}; 'streamboot vdisk version list {vdisk.Name}' shows its versions")
            {
                Device = identity,
                VDisk = vdisk.Name,
            };
        }

        var protocol = device.Collection?.BootProtocol ?? vdisk.BootProtocol;
        var storeFolder = site.ResolveStorePath(vdisk.StorePath);
        if (secureBoot.Refusal(request, identity, vdisk, version, protocol, storeFolder) is { } cannot)
        {
            // The screen says it was registered all the same: the next boot comes as a known device.
            return registered
                ? cannot with { Message = $"registered this machine as {identity.Name} in collection {identity.Collection}, but {cannot.Message}" }
                : cannot;
        }

        var boot = credentials.NewBoot(device.Id, vdisk.Id, request.RemoteAddress);
        var placed = await placement.PlaceAsync(boot, version.Id, mac.ToString(), request.RemoteAddress, cancellationToken);
        switch (placed)
        {
            case Farm.PlacementFull full:
                return new BootQueued(
                    identity,
                    full.Ahead,
                    $"every server is booting as many clients as it may ({full.Booting} now); {identity.Name} waits its turn ({full.Ahead} ahead of it)");
            case Farm.NoServer none:
                return new BootRefused(BootRefusal.NoServer, $"no server takes new boots of vDisk '{vdisk.Name}' now: {none.Why}; 'streamboot server list' shows them")
                {
                    Device = identity,
                    VDisk = vdisk.Name,
                    Version = version.Number,
                };
        }

        await credentials.PruneAsync(device.Id, request.RemoteAddress, cancellationToken);
        var key = boot.Key;
        return new BootVDisk(
            identity,
            new BootTarget(vdisk.Name, vdisk.Description, version.Number, $"{vdisk.Name}/{device.Name}", WriteCachePolicy.For(device, vdisk, version), storeFolder)
            {
                VersionId = version.Id,
                VersionFile = Path.Combine(storeFolder, version.FileName),
                Protocol = protocol,
            },
            registered,
            device.PersistentWriteCache,
            key)
        {
            Placement = ((Farm.Placed)placed).Placement,
        };
    }

    public static BootIdentity Identity(Device device) => new(device.Name, device.Mac, device.MachineId, device.Collection?.Name ?? "");

    /// <summary>Whether two remote addresses (<c>ip</c> or <c>ip:port</c>) are the same machine.</summary>
    public static bool SameHost(string? a, string? b) =>
        HostOf(a) is { } x && HostOf(b) is { } y && x.Equals(y);

    public static IPAddress? HostOf(string? remote)
    {
        if (string.IsNullOrEmpty(remote))
        {
            return null;
        }

        if (IPEndPoint.TryParse(remote, out var endpoint))
        {
            var address = endpoint.Address;
            return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        }

        return null;
    }
}
