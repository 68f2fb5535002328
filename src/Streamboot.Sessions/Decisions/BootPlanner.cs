using System.Net;
using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin.Boot;

/// <summary>
/// Step 2 of the boot: which vDisk a client runs and under which name.
/// A known device boots its one vDisk or sees a menu of several; an unknown
/// machine falls into the collection that receives unknown devices, whose
/// policy registers it (next name from the pattern, a new machine id, the
/// collection's default vDisk), offers it a menu of vDisks to register with,
/// or refuses it with a message that says how to register it. A device whose
/// identity is live in a session from another address is refused: one
/// identity never runs twice.
/// </summary>
public sealed class BootPlanner(AdminSite site)
{
    public async Task<BootDecision> DecideAsync(BootRequest request, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(request.Mac))
        {
            return new BootRefused(BootRefusal.BadRequest, "the boot request names no MAC address; iPXE should ask for /boot.ipxe?mac=${net0/mac}");
        }

        if (!MacAddress.TryParse(request.Mac, out var mac))
        {
            return new BootRefused(BootRefusal.BadRequest, $"'{Printable(request.Mac)}' is not a MAC address");
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

    /// <summary>A device's identity, its vDisks and its live session's export, for the client's OS (<c>/boot/identity</c>).</summary>
    public async Task<AdminResult<DeviceIdentity>> IdentityAsync(string mac, CancellationToken cancellationToken = default)
    {
        if (!MacAddress.TryParse(mac, out var address))
        {
            return AdminError.Invalid($"'{Printable(mac)}' is not a MAC address");
        }

        await using var db = site.Database.CreateContext();
        var device = await db.Devices.Include(d => d.Collection).Include(d => d.Assignments).ThenInclude(a => a.VDisk)
            .FirstOrDefaultAsync(d => d.Mac == address.ToString(), cancellationToken);
        if (device is null)
        {
            return AdminError.NotFound($"no device has MAC {address}");
        }

        var live = await db.Sessions.Where(s => s.DeviceId == device.Id && s.EndedAt == null).Include(s => s.VDisk)
            .Select(s => new { VDisk = s.VDisk!.Name, s.VersionNumber, s.WriteCacheMode })
            .FirstOrDefaultAsync(cancellationToken);
        var vdisks = device.Assignments.OrderBy(a => a.Position).Select(a => a.VDisk!.Name).ToList();
        var defaultVDisk = device.Assignments.Where(a => a.IsDefault).Select(a => a.VDisk!.Name).FirstOrDefault() ?? vdisks.FirstOrDefault();
        return new DeviceIdentity(
            Identity(device),
            device.Enabled,
            vdisks,
            live?.VDisk ?? defaultVDisk,
            live is null ? null : $"{live.VDisk}/{device.Name}",
            live?.WriteCacheMode);
    }

    /// <summary>Null when the machine was registered and boots as a known device now.</summary>
    private async Task<BootDecision?> UnknownAsync(StreambootDbContext db, MacAddress mac, BootRequest request, CancellationToken cancellationToken)
    {
        var collection = await db.Collections.Include(c => c.DefaultVDisk).FirstOrDefaultAsync(c => c.ReceivesUnknown, cancellationToken);
        var register = $"'streamboot device add {mac}' registers it";
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
            var chosen = await Lookup.VDiskAsync(db, vdisk, cancellationToken);
            if (!chosen.Ok)
            {
                return new BootRefused(BootRefusal.RegistrationFailed, $"cannot register this machine ({mac}): {chosen.Error.Message}");
            }

            if (chosen.Value.AccessMode == AccessMode.Private && await db.Assignments.AnyAsync(a => a.VDiskId == chosen.Value.Id, cancellationToken))
            {
                return new BootRefused(BootRefusal.RegistrationFailed, $"cannot register this machine ({mac}) with vDisk '{chosen.Value.Name}': it is a private image and already has its device");
            }

            vdiskId = chosen.Value.Id;
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
        var device = await db.Devices.Include(d => d.Collection)
            .Include(d => d.Assignments).ThenInclude(a => a.VDisk).ThenInclude(v => v!.Versions)
            .FirstOrDefaultAsync(d => d.Mac == mac.ToString(), cancellationToken);
        if (device is null)
        {
            return new BootRefused(BootRefusal.UnknownDevice, $"this machine ({mac}) was deleted while it booted; 'streamboot device add {mac}' registers it again");
        }

        var identity = Identity(device);
        if (!device.Enabled)
        {
            return new BootRefused(BootRefusal.Disabled, $"{device.Name} ({mac}) is disabled; 'streamboot device set {device.Name} --enabled true' enables it");
        }

        var live = await db.Sessions.Where(s => s.DeviceId == device.Id && s.EndedAt == null)
            .Select(s => new { s.Id, s.RemoteAddress }).ToListAsync(cancellationToken);
        var elsewhere = live.FirstOrDefault(s => !SameHost(s.RemoteAddress, request.RemoteAddress));
        if (elsewhere is not null)
        {
            return new BootRefused(
                BootRefusal.IdentityInUse,
                $"{device.Name} ({mac}) is running right now from {HostOf(elsewhere.RemoteAddress)?.ToString() ?? "another address"} (session {elsewhere.Id}); one identity never runs twice. Shut that machine down, or look at 'streamboot session list'");
        }

        var assignments = device.Assignments.OrderBy(a => a.Position).ToList();
        if (assignments.Count == 0)
        {
            return new BootRefused(BootRefusal.NotAssigned, $"{device.Name} ({mac}) has no vDisk; 'streamboot assign {device.Name} VDISK' gives it one");
        }

        Assignment chosen;
        if (request.VDisk is not null)
        {
            var match = assignments.Find(a => string.Equals(a.VDisk!.Name, request.VDisk, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                return new BootRefused(BootRefusal.NotAssigned, $"{device.Name} ({mac}) is not assigned vDisk '{Printable(request.VDisk)}'");
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
            return new BootRefused(BootRefusal.NoVersion, $"vDisk '{vdisk.Name}' has no version for {KebabCase.Of(device.Type)} devices like {device.Name}; 'streamboot vdisk version list {vdisk.Name}' shows its versions");
        }

        return new BootVDisk(
            identity,
            new BootTarget(vdisk.Name, vdisk.Description, version.Number, $"{vdisk.Name}/{device.Name}", WriteCachePolicy.For(device, vdisk, version), site.ResolveStorePath(vdisk.StorePath)),
            registered,
            device.PersistentWriteCache);
    }

    private static BootIdentity Identity(Device device) => new(device.Name, device.Mac, device.MachineId, device.Collection?.Name ?? "");

    /// <summary>Whether two remote addresses (<c>ip</c> or <c>ip:port</c>) are the same machine.</summary>
    public static bool SameHost(string? a, string? b) =>
        HostOf(a) is { } x && HostOf(b) is { } y && x.Equals(y);

    private static IPAddress? HostOf(string? remote)
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

    /// <summary>Client-supplied text, cut short and stripped of control characters before it goes into a message.</summary>
    private static string Printable(string text)
    {
        var clean = new string([.. text.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);
        return text.Length > 64 ? clean + "..." : clean;
    }
}

/// <summary>What a running client's OS asks the server about itself.</summary>
public sealed record DeviceIdentity(
    BootIdentity Device,
    bool Enabled,
    IReadOnlyList<string> VDisks,
    string? VDisk,
    string? LiveExport,
    WriteCacheMode? WriteCacheMode);
