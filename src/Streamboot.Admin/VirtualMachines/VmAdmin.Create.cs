using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Vms;
using Streamboot.Vms.Host;
using Streamboot.Vms.Media;
using Streamboot.Vms.Qemu;
using Streamboot.Vms.Seeds;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{

    private const int MaxUserNameLength = 20;      // Windows' limit; Linux allows 32
    private const int MaxFullNameLength = 255;
    private const int MaxWindowsComputerName = 15; // NetBIOS

    /// <summary>
    /// Checks a request and makes every choice it left open: the wizard's
    /// summary page. Nothing is written. One error, the first found, in
    /// the wizard's order.
    /// </summary>
    public async Task<AdminResult<VmPlan>> PlanAsync(VmRequest request, CancellationToken cancellationToken = default)
    {
        var notes = new List<string>();
        if (!Names.TryValidateObjectName("VM", request.Name, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        if (QemuSystem.Missing() is { } missing)
        {
            return AdminError.Failed(missing);
        }

        await using var db = site.Database.CreateContext();
        var lower = request.Name.ToLowerInvariant();
        if (await db.VirtualMachines.AnyAsync(v => v.Name.ToLower() == lower, cancellationToken))
        {
            return AdminError.Conflict($"a VM named '{request.Name}' already exists; 'streamboot vm show {request.Name}' shows it");
        }

        var folder = Path.GetFullPath(request.Folder ?? Path.Combine(VmRoot, request.Name));
        if (File.Exists(folder))
        {
            return AdminError.Invalid($"--folder {folder} is a file; give a folder (it is created if missing)");
        }

        // QEMU's console and QMP are unix sockets in the folder, and a socket
        // path holds at most 107 bytes (sun_path).
        var longest = new VmFolder(folder).ConsoleSocket;
        if (System.Text.Encoding.UTF8.GetByteCount(longest) > VmFolder.MaxSocketPathBytes)
        {
            return AdminError.Invalid($"the folder {folder} is too deep: its socket {longest} would be longer than the {VmFolder.MaxSocketPathBytes} bytes a unix socket path may have; give a shorter --folder");
        }

        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            return AdminError.Refused($"the folder {folder} already holds files; choose another --folder or name, or move them away");
        }

        // Hardware compatibility.
        var machine = string.IsNullOrWhiteSpace(request.MachineType) ? VmDefaults.DefaultMachineType : request.MachineType.Trim();
        var machines = await MachineTypesAsync(cancellationToken);
        if (!machines.Ok)
        {
            return machines.Error;
        }

        if (!machines.Value.Contains(machine, StringComparer.Ordinal))
        {
            return AdminError.Invalid($"'{machine}' is not a PC machine type of this QEMU; use one of: {string.Join(", ", machines.Value.Take(8))}{(machines.Value.Length > 8 ? ", ..." : "")}");
        }

        // Guest operating system.
        var family = GuestOsFamily.Linux;
        if (request.GuestOs is not null && !KebabCase.TryParse(request.GuestOs, out family))
        {
            return AdminError.Invalid($"'{request.GuestOs}' is not a guest OS type; use linux, windows or other");
        }

        var version = string.IsNullOrWhiteSpace(request.GuestOsVersion) ? null : request.GuestOsVersion.Trim();
        if (version is { Length: > 64 } || (version is not null && version.Any(char.IsControl)))
        {
            return AdminError.Invalid("the guest OS version is free text of at most 64 printable characters, such as debian12 or win11");
        }

        string? iso = null;
        string? volumeId = null;
        if (!string.IsNullOrWhiteSpace(request.InstallerIso))
        {
            iso = Path.GetFullPath(request.InstallerIso);
            if (!Iso9660Image.TryCheck(iso, out volumeId, out var isoError))
            {
                return File.Exists(iso) || Directory.Exists(iso) ? AdminError.Invalid($"--iso: {isoError}") : AdminError.NotFound($"--iso: {isoError}");
            }
        }

        var defaults = Defaults(family);

        // Easy install.
        EasyInstall? install = null;
        if (request.UserName is not null || request.Password is not null || request.FullName is not null)
        {
            var planned = PlanEasyInstall(request, family);
            if (!planned.Ok)
            {
                return planned.Error;
            }

            install = planned.Value;
        }
        else if (request.ProductKey is not null || request.Edition is not null)
        {
            return AdminError.Invalid("--product-key and --edition go into the easy-install seed (autounattend.xml); give --user and --password (or --password-file) too");
        }
        else if (request.HostName is not null)
        {
            return AdminError.Invalid("--hostname goes into the easy-install seed; give --user and --password (or --password-file) too");
        }

        // Processors and memory.
        var sockets = request.Sockets ?? defaults.Sockets;
        var cores = request.CoresPerSocket ?? defaults.CoresPerSocket;
        if (sockets < 1 || cores < 1)
        {
            return AdminError.Invalid($"a VM needs at least one processor; --sockets {sockets} --cores {cores} makes {Math.Max(0, sockets) * Math.Max(0, cores)}");
        }

        var hostCpus = HostResources.LogicalCpus;
        if ((long)sockets * cores > hostCpus)
        {
            return AdminError.Invalid($"{sockets} socket(s) x {cores} core(s) = {(long)sockets * cores} processors, more than this host's {hostCpus}; give at most {hostCpus} in all");
        }

        var memory = request.MemoryMiB ?? defaults.MemoryMiB;
        if (memory < VmDefaults.MinimumMemoryMiB)
        {
            return AdminError.Invalid($"{memory} MiB of memory is too little; give at least {VmDefaults.MinimumMemoryMiB} MiB");
        }

        if (HostResources.MemoryBytes is { } hostMemory && (long)memory * 1024 * 1024 > hostMemory)
        {
            return AdminError.Invalid($"{memory} MiB of memory is more than this host has ({hostMemory / (1024 * 1024)} MiB); give less");
        }

        if (HostResources.AvailableMemoryBytes is { } available && (long)memory * 1024 * 1024 > available)
        {
            notes.Add($"{memory} MiB is more memory than the host has free now ({available / (1024 * 1024)} MiB): the VM may not start until some is freed");
        }

        // Network.
        var network = VmNetworkMode.Nat;
        if (request.Network is not null && !KebabCase.TryParse(request.Network, out network))
        {
            return AdminError.Invalid($"'{request.Network}' is not a network mode; use nat, bridge, netboot or none");
        }

        string? bridge = null;
        if (!string.IsNullOrWhiteSpace(request.Bridge))
        {
            bridge = request.Bridge.Trim();
            if (network is not (VmNetworkMode.Bridge or VmNetworkMode.Netboot))
            {
                return AdminError.Invalid($"--bridge {bridge} needs --network bridge (or netboot on a bridge)");
            }

            if (bridge.Length > 15 || bridge.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.')))
            {
                return AdminError.Invalid($"'{bridge}' is not an interface name (at most 15 letters, digits, '-', '_' or '.')");
            }

            if (!Directory.Exists($"/sys/class/net/{bridge}/bridge"))
            {
                notes.Add($"there is no bridge '{bridge}' on this host yet: create it before the VM starts (ip link add {bridge} type bridge)");
            }
        }
        else if (network == VmNetworkMode.Bridge)
        {
            return AdminError.Invalid("--network bridge needs --bridge NAME, the host bridge to join (such as br0)");
        }

        string? collection = null;
        if (request.Collection is not null)
        {
            if (network != VmNetworkMode.Netboot)
            {
                return AdminError.Invalid("--collection registers a diskless client; it goes with --network netboot");
            }

            var found = await Lookup.CollectionAsync(db, request.Collection, cancellationToken);
            if (!found.Ok)
            {
                return found.Error;
            }

            collection = found.Value.Name;
        }

        string mac;
        if (request.Mac is not null)
        {
            if (!MacAddress.TryParse(request.Mac, out var parsed))
            {
                return AdminError.Invalid($"'{request.Mac}' is not a MAC address; write it as 52:54:00:12:34:56");
            }

            mac = parsed.ToString();
            if (await db.VirtualMachines.AnyAsync(v => v.Mac == mac, cancellationToken))
            {
                return AdminError.Conflict($"another VM has the MAC {mac}; leave out --mac for a new one");
            }

            if (collection is not null && await db.Devices.AnyAsync(d => d.Mac == mac, cancellationToken))
            {
                return AdminError.Conflict($"a device with the MAC {mac} exists already; leave out --collection to boot as that device");
            }
        }
        else
        {
            mac = await NewMacAsync(db, [], cancellationToken);
        }

        // Disk.
        VmDiskPlan? disk = null;
        if (network == VmNetworkMode.Netboot)
        {
            if (request.DiskSizeBytes is not null || request.DiskFile is not null || request.DiskFormat is not null || request.Preallocate || request.DiskBus is not null || request.ExistingDisk is not null || request.AttachDisk)
            {
                return AdminError.Invalid("a netboot VM is a diskless client: it has no disk (leave out the --disk options)");
            }

            if (iso is not null || install is not null)
            {
                return AdminError.Invalid("a netboot VM boots from this server: it takes no installer ISO or easy install");
            }
        }
        else
        {
            var planned = await PlanDiskAsync(db, request, folder, machine, family, defaults, notes, cancellationToken);
            if (!planned.Ok)
            {
                return planned.Error;
            }

            disk = planned.Value;
        }

        // Customize hardware.
        var extra = await PlanExtraAsync(db, request, folder, machine, family, disk, mac, cancellationToken);
        if (!extra.Ok)
        {
            return extra.Error;
        }

        // Firmware.
        var firmware = defaults.Firmware;
        if (request.Firmware is not null && !KebabCase.TryParse(request.Firmware, out firmware))
        {
            return AdminError.Invalid($"'{request.Firmware}' is not a firmware; use bios or uefi");
        }

        if (firmware == VmFirmware.Uefi && OvmfFirmware.Missing() is { } noOvmf)
        {
            return AdminError.Failed(noOvmf);
        }

        var secureBoot = request.SecureBoot ?? (family == GuestOsFamily.Windows && firmware == VmFirmware.Uefi && QemuSystem.IsQ35(machine));
        if (secureBoot && firmware != VmFirmware.Uefi)
        {
            return AdminError.Invalid("Secure Boot is UEFI's: give --firmware uefi with --secure-boot");
        }

        if (secureBoot && !QemuSystem.IsQ35(machine))
        {
            return AdminError.Invalid($"Secure Boot needs System Management Mode, which QEMU gives the q35 machine only; use --machine q35 with --secure-boot (not {machine})");
        }

        if (secureBoot && OvmfFirmware.MissingSecureBoot() is { } noSecureBoot)
        {
            return AdminError.Failed(noSecureBoot);
        }

        var hardware = extra.Value with { SecureBoot = secureBoot };

        if (install is not null)
        {
            var seedMissing = SeedImage.Missing();
            if (seedMissing is not null)
            {
                return AdminError.Failed($"the easy-install seed cannot be written: {seedMissing}");
            }
        }

        return new VmPlan
        {
            Name = request.Name,
            Folder = folder,
            MachineType = machine,
            GuestOs = family,
            GuestOsVersion = version,
            InstallerIso = iso,
            InstallerVolumeId = volumeId,
            EasyInstall = install,
            Sockets = sockets,
            CoresPerSocket = cores,
            MemoryMiB = memory,
            Disk = disk,
            Extra = hardware,
            Firmware = firmware,
            Network = network,
            Bridge = bridge,
            Collection = collection,
            Mac = mac,
            Notes = notes,
        };
    }

    /// <summary>
    /// Makes the VM of a plan: folder, disk (Streamboot's storage engine),
    /// UEFI variables, easy-install seed, the device of a netboot VM, and the
    /// row. Anything that fails takes back what was made before it.
    /// </summary>
    public async Task<AdminResult<VmView>> CreateAsync(VmPlan plan, CancellationToken cancellationToken = default)
    {
        var made = new List<string>();
        var createdFolder = !Directory.Exists(plan.Folder);
        long? deviceId = null;
        string? deviceName = null;
        var vmFolder = new VmFolder(plan.Folder);
        string? seed = null;
        try
        {
            Directory.CreateDirectory(plan.Folder);
            if (plan.Disk is { } disk)
            {
                if (!disk.Attached)
                {
                    made.Add(disk.File);
                }

                await MakeDiskAsync(disk, cancellationToken);
            }

            MakeExtraDisks(plan.Extra, made);

            if (plan.Firmware == VmFirmware.Uefi)
            {
                var ovmf = OvmfFirmware.Find(plan.Extra.SecureBoot) ?? throw new IOException(plan.Extra.SecureBoot ? OvmfFirmware.MissingSecureBoot() : OvmfFirmware.Missing());
                made.Add(vmFolder.UefiVars);
                File.Copy(ovmf.VarsTemplate, vmFolder.UefiVars);
            }

            if (plan.EasyInstall is { } install)
            {
                seed = vmFolder.Combine(plan.GuestOs == GuestOsFamily.Windows ? "autounattend.iso" : "cidata.iso");
                made.Add(seed);
                var files = plan.GuestOs == GuestOsFamily.Windows
                    ? WindowsUnattend.Files(install)
                    : CloudInitSeed.Files(install, Guid.NewGuid(), plan.GuestOsVersion);
                var volume = plan.GuestOs == GuestOsFamily.Windows ? WindowsUnattend.VolumeId : CloudInitSeed.VolumeId;
                await SeedImage.WriteAsync(seed, volume, files, cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidOperationException or Storage.Import.ImageImportException)
        {
            Undo(made, plan.Folder, createdFolder);
            return AdminError.Failed($"cannot create VM '{plan.Name}': {e.Message}");
        }
        catch (ArgumentOutOfRangeException)
        {
            // .NET's word for EFBIG: the file system's largest file is smaller than the disk.
            Undo(made, plan.Folder, createdFolder);
            return AdminError.Failed($"cannot create VM '{plan.Name}': a disk of {ByteSize.Format(plan.Disk?.SizeBytes ?? 0)} ({plan.Disk?.SizeBytes ?? 0} bytes) is too large for the file system of {plan.Folder}; choose a smaller --disk-size");
        }
        catch
        {
            Undo(made, plan.Folder, createdFolder);
            throw;
        }

        if (plan.Collection is not null)
        {
            var device = await new DeviceAdmin(site).AddAsync(plan.Mac, new DeviceChanges(Collection: plan.Collection, Description: $"diskless VM {plan.Name}"), cancellationToken);
            if (!device.Ok)
            {
                Undo(made, plan.Folder, createdFolder);
                return device.Error;
            }

            deviceName = device.Value.Name;
            await using var lookup = site.Database.CreateContext();
            deviceId = (await Lookup.DeviceAsync(lookup, deviceName, cancellationToken)).Value?.Id;
        }

        await using var db = site.Database.CreateContext();
        var vm = new VirtualMachine
        {
            Name = plan.Name,
            Folder = plan.Folder,
            Uuid = Guid.NewGuid(),
            GuestOs = plan.GuestOs,
            GuestOsVersion = plan.GuestOsVersion,
            MachineType = plan.MachineType,
            Firmware = plan.Firmware,
            Sockets = plan.Sockets,
            CoresPerSocket = plan.CoresPerSocket,
            MemoryMiB = plan.MemoryMiB,
            DiskFile = plan.Disk?.File,
            DiskFormat = plan.Disk?.Format,
            DiskSizeBytes = plan.Disk?.SizeBytes,
            DiskPreallocated = plan.Disk is { Preallocate: true },
            DiskBus = plan.Disk?.Bus,
            DiskAttached = plan.Disk is { Attached: true },
            Hardware = HardwareJson(plan.Extra),
            InstallerIso = plan.InstallerIso,
            SeedFile = seed,
            UserName = plan.EasyInstall?.UserName,
            FullName = plan.EasyInstall?.FullName,
            HostName = plan.EasyInstall?.HostName,
            Network = plan.Network,
            Bridge = plan.Bridge,
            Mac = plan.Mac,
            DeviceId = deviceId,
            CreatedAt = site.UtcNow,
        };
        db.VirtualMachines.Add(vm);
        // Never the password: the audit log says who made what, not secrets.
        site.Audit(db, "vm.create", plan.Name, new
        {
            plan.Folder,
            plan.MachineType,
            guestOs = KebabCase.Of(plan.GuestOs),
            plan.GuestOsVersion,
            plan.InstallerIso,
            // The product key stays out, as the password does.
            easyInstall = plan.EasyInstall is null ? null : new { plan.EasyInstall.UserName, plan.EasyInstall.FullName, plan.EasyInstall.HostName, plan.EasyInstall.Edition },
            plan.Sockets,
            plan.CoresPerSocket,
            plan.MemoryMiB,
            diskFile = plan.Disk?.File,
            diskFormat = plan.Disk is { } d ? KebabCase.Of(d.Format) : null,
            diskSizeBytes = plan.Disk?.SizeBytes,
            preallocate = plan.Disk?.Preallocate,
            diskBus = plan.Disk is { } b ? KebabCase.Of(b.Bus) : null,
            diskCopiedFrom = plan.Disk?.CopyOf,
            diskAttached = plan.Disk?.Attached,
            hardware = plan.Extra,
            firmware = KebabCase.Of(plan.Firmware),
            network = KebabCase.Of(plan.Network),
            plan.Bridge,
            plan.Mac,
            device = deviceName,
        });
        var error = await Persist.SaveAsync(db, index => index.Mentions("mac") ? $"another VM took the MAC {plan.Mac}; try again" : $"a VM named '{plan.Name}' already exists", cancellationToken);
        if (error is not null)
        {
            Undo(made, plan.Folder, createdFolder);
            if (deviceName is not null)
            {
                await new DeviceAdmin(site).DeleteAsync(deviceName, cancellationToken);
            }

            return error;
        }

        return await ShowAsync(plan.Name, cancellationToken);
    }

    private static void Undo(List<string> made, string folder, bool createdFolder)
    {
        foreach (var file in made)
        {
            BestEffort.DeleteFile(file);
        }

        if (createdFolder)
        {
            BestEffort.RemoveFolderIfEmpty(folder);
        }
    }

    /// <summary>A plan in words, for the summary page and for <c>--json</c>-less confirmation.</summary>
    public static IReadOnlyList<(string Key, string Value)> Describe(VmPlan plan)
    {
        var rows = new List<(string, string)>
        {
            ("Name", plan.Name),
            ("Folder", plan.Folder),
            ("Hardware compatibility", plan.MachineType),
            ("Guest OS", KebabCase.Of(plan.GuestOs) + (plan.GuestOsVersion is null ? "" : $" ({plan.GuestOsVersion})")),
            ("Installer", plan.InstallerIso is null ? "none (install the OS later)" : $"{plan.InstallerIso}" + (string.IsNullOrEmpty(plan.InstallerVolumeId) ? "" : $" [{plan.InstallerVolumeId}]")),
            ("Easy install", plan.EasyInstall is { } e ? $"{e.FullName} ({e.UserName}), host name {e.HostName}" + (e.Edition is null ? "" : $", edition {e.Edition}") + (e.ProductKey is null ? "" : ", with a product key") : "no"),
            ("Processors", string.Create(CultureInfo.InvariantCulture, $"{plan.Sockets} socket(s) x {plan.CoresPerSocket} core(s) = {plan.Cpus}")),
            ("Memory", string.Create(CultureInfo.InvariantCulture, $"{plan.MemoryMiB} MiB")),
            ("Disk", plan.Disk is { } disk ? DescribeDisk(disk) : "none (boots from the network)"),
            ("Firmware", plan.Firmware == VmFirmware.Uefi ? "UEFI (OVMF)" : "BIOS (SeaBIOS)"),
            ("Network", plan.Network switch
            {
                VmNetworkMode.Bridge => $"bridged to {plan.Bridge}",
                VmNetworkMode.Netboot => "diskless client of this server" + (plan.Bridge is null ? " (through QEMU's NAT)" : $" on bridge {plan.Bridge}") + (plan.Collection is null ? "" : $", registered in collection {plan.Collection}"),
                VmNetworkMode.None => "none",
                _ => "NAT (QEMU user networking)",
            }),
            ("MAC", plan.Mac),
        };
        rows.AddRange(DescribeExtra(plan.Extra));
        return rows;
    }
}
