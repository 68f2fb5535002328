using System.CommandLine;
using Spectre.Console;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Cli.Output;
using Streamboot.Vms.Media;

namespace Streamboot.Cli.Commands;

/// <summary>
/// The New Virtual Machine wizard in a terminal: the questions of VMware
/// Workstation's custom path, in its order, each with the default a flag
/// would have given. A question whose flag is on the command line is not
/// asked. The summary and the confirmation come last (<see cref="Confirm"/>).
/// </summary>
public static class VmWizard
{
    public static async Task<VmRequest?> AskAsync(VmRequest request, VmAdmin admin, ParseResult parse, VmCreateOptions o, CancellationToken cancellationToken)
    {
        var console = CliOutput.Stdout;
        console.Write(new Rule("[bold]New Virtual Machine[/]").LeftJustified());

        // 0. Typical or custom, Workstation's first page: typical asks the
        // installer, guest, name and disk size and takes the guest's defaults
        // for the rest (as if their flags were given with them).
        var config = parse.GetValue(o.Config);
        if (config is not null && config is not ("typical" or "custom"))
        {
            CliOutput.Fail($"--config {config}: use typical or custom");
            return null;
        }

        if (config is null)
        {
            (string Key, string Text) configuration = console.Prompt(new SelectionPrompt<(string Key, string Text)>()
                .Title("Which type of configuration do you want?")
                .UseConverter(c => c.Text)
                .AddChoices(
                    ("typical", "Typical (recommended): the installer, guest, name and disk size; defaults for the rest"),
                    ("custom", "Custom (advanced): every question, from hardware compatibility to the disk's controller")));
            config = configuration.Key;
            console.MarkupLine($"Configuration: [bold]{config}[/]");
        }

        Option[] typicalSkips = [o.Machine, o.Firmware, o.Sockets, o.Cores, o.Memory, o.Network, o.DiskBus, o.DiskFormat, o.Preallocate, o.DiskFile];
        bool Given(Option option) => parse.GetResult(option) is { Implicit: false } || (config == "typical" && typicalSkips.Contains(option));

        // 1. Hardware compatibility.
        if (!Given(o.Machine))
        {
            var types = await VmAdmin.MachineTypesAsync(cancellationToken);
            if (!types.Ok)
            {
                CliOutput.Error(types.Error);
                return null;
            }

            request = request with
            {
                MachineType = console.Prompt(new SelectionPrompt<string>()
                    .Title("Hardware compatibility (QEMU machine type):")
                    .PageSize(8)
                    .AddChoices(types.Value)),
            };
            console.MarkupLine($"Hardware compatibility: [bold]{Markup.Escape(request.MachineType!)}[/]");
        }

        // 2. Guest operating system installation.
        string? volumeId = null;
        if (!Given(o.Iso))
        {
            var iso = console.Prompt(new TextPrompt<string>("Installer disc image file (.iso), or empty to install the operating system later:")
                .AllowEmpty()
                .Validate(path => path.Length == 0 || Iso9660Image.TryCheck(Path.GetFullPath(path), out _, out var error)
                    ? ValidationResult.Success()
                    : ValidationResult.Error(Markup.Escape(error))));
            request = request with { InstallerIso = iso.Length == 0 ? null : iso };
        }

        if (request.InstallerIso is { } chosen)
        {
            Iso9660Image.TryCheck(Path.GetFullPath(chosen), out volumeId, out _);
        }

        if (!Given(o.GuestOs))
        {
            var family = console.Prompt(new SelectionPrompt<string>()
                .Title("Guest operating system:")
                .AddChoices("linux", "windows", "other"));
            request = request with { GuestOs = family };
            console.MarkupLine($"Guest operating system: [bold]{family}[/]");
        }

        var guest = Data.KebabCase.TryParse<GuestOsFamily>(request.GuestOs, out var parsed) ? parsed : GuestOsFamily.Linux;
        if (!Given(o.OsVersion))
        {
            var guess = string.IsNullOrWhiteSpace(volumeId) ? "" : volumeId.ToLowerInvariant();
            var version = console.Prompt(new TextPrompt<string>("Version (debian12, ubuntu24.04, win11 ...):").AllowEmpty().DefaultValue(guess).ShowDefaultValue(guess.Length > 0));
            request = request with { GuestOsVersion = version.Length == 0 ? null : version };
        }

        // 3. Easy install.
        var easy = Given(o.User) || Given(o.Password) || Given(o.PasswordFile);
        if (!easy && guest != GuestOsFamily.Other && !Given(o.FullName) && request.Network != "netboot")
        {
            easy = console.Prompt(new ConfirmationPrompt("Use easy install (a seed with your user, password and host name that the installer reads)?") { DefaultValue = request.InstallerIso is not null });
        }

        if (easy)
        {
            var me = Environment.GetEnvironmentVariable("SUDO_USER") is { Length: > 0 } sudo ? sudo : Environment.UserName;
            if (!Given(o.FullName))
            {
                request = request with { FullName = console.Prompt(new TextPrompt<string>("Full name:").DefaultValue(me)) };
            }

            if (!Given(o.User))
            {
                var defaultUser = me == "root" ? "user" : me;
                request = request with { UserName = console.Prompt(new TextPrompt<string>("User name:").DefaultValue(defaultUser)) };
            }

            if (request.Password is null)
            {
                request = request with { Password = AskPassword(console) };
                if (request.Password is null)
                {
                    CliOutput.Fail("the passwords did not match three times; nothing was made");
                    return null;
                }
            }
        }

        // 4. Name and location.
        if (request.Name.Length == 0)
        {
            var suggestion = request.GuestOsVersion is { } v && Names.TryValidateObjectName("VM", v, out _) ? v : "vm1";
            var name = console.Prompt(new TextPrompt<string>("Virtual machine name:")
                .DefaultValue(suggestion)
                .Validate(n => Names.TryValidateObjectName("VM", n, out var e) ? ValidationResult.Success() : ValidationResult.Error(Markup.Escape(e))));
            request = request with { Name = name };
        }

        if (!Given(o.Folder))
        {
            var folder = console.Prompt(new TextPrompt<string>("Location (folder for its files):").DefaultValue(Path.Combine(admin.VmRoot, request.Name)));
            request = request with { Folder = folder };
        }

        if (easy && !Given(o.HostName))
        {
            var host = VmAdmin.HostNameFor(request.Name, guest);
            request = request with { HostName = console.Prompt(new TextPrompt<string>("Host name of the guest:").DefaultValue(host)) };
        }

        var defaults = VmAdmin.Defaults(guest);

        // 5. Firmware.
        if (!Given(o.Firmware))
        {
            string[] choices = defaults.Firmware == VmFirmware.Uefi ? ["uefi", "bios"] : ["bios", "uefi"];
            request = request with { Firmware = console.Prompt(new SelectionPrompt<string>().Title("Firmware type:").AddChoices(choices)) };
            console.MarkupLine($"Firmware: [bold]{request.Firmware}[/]");
        }

        // 6. Processors and memory.
        if (!Given(o.Sockets))
        {
            request = request with { Sockets = console.Prompt(new TextPrompt<int>("Number of processors (sockets):").DefaultValue(defaults.Sockets).Validate(n => n >= 1 ? ValidationResult.Success() : ValidationResult.Error("at least 1"))) };
        }

        if (!Given(o.Cores))
        {
            request = request with { CoresPerSocket = console.Prompt(new TextPrompt<int>("Number of cores per processor:").DefaultValue(defaults.CoresPerSocket).Validate(n => n >= 1 ? ValidationResult.Success() : ValidationResult.Error("at least 1"))) };
        }

        if (!Given(o.Memory))
        {
            var text = console.Prompt(new TextPrompt<string>("Memory for this virtual machine (MiB, or a size such as 4G):")
                .DefaultValue(defaults.MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Validate(m => VmCreateOptions.ParseMemory(m, out var e) is not null ? ValidationResult.Success() : ValidationResult.Error(Markup.Escape(e!))));
            request = request with { MemoryMiB = VmCreateOptions.ParseMemory(text, out _) };
        }

        // 7. Network.
        if (!Given(o.Network))
        {
            (string Key, string Text) network = console.Prompt(new SelectionPrompt<(string Key, string Text)>()
                .Title("Network connection:")
                .UseConverter(c => c.Text)
                .AddChoices(
                    ("nat", "NAT: share the host's connection"),
                    ("bridge", "Bridged: join a bridge of the host, as a machine of that network"),
                    ("netboot", "Netboot: a diskless client that boots from this Streamboot server"),
                    ("none", "No network connection")));
            request = request with { Network = network.Key };
            console.MarkupLine($"Network: [bold]{Markup.Escape(network.Text)}[/]");
        }

        if (request.Network == "netboot" && (request.InstallerIso is not null || request.Password is not null) && !Given(o.Iso) && !Given(o.User))
        {
            // Chosen in this wizard: the machine boots from this server, so it needs neither.
            console.MarkupLine("[yellow]A netboot VM boots from this server: the installer and easy install are left out.[/]");
            request = request with { InstallerIso = null, UserName = null, Password = null, FullName = null, HostName = null };
        }

        if (request.Network == "bridge" && !Given(o.Bridge))
        {
            request = request with { Bridge = console.Prompt(new TextPrompt<string>("Host bridge:").DefaultValue("br0")) };
        }

        if (request.Network == "netboot" && !Given(o.Collection))
        {
            var collection = console.Prompt(new TextPrompt<string>("Register it as a device of collection (empty: boot as an unknown machine):").AllowEmpty());
            request = request with { Collection = collection.Length == 0 ? null : collection };
        }

        // 8. Disk: the controller and disk type, then which disk.
        if (request.Network != "netboot")
        {
            request = AskDisk(request, console, Given, o, guest, defaults);
        }

        // 9. Customize hardware, from the summary page as Workstation offers it.
        Option[] hardware = [o.AddDisk, o.AddNic, o.Sound, o.Usb, o.NoTablet, o.Display, o.SerialPorts];
        if (!hardware.Any(h => parse.GetResult(h) is { Implicit: false })
            && console.Prompt(new ConfirmationPrompt("Customize hardware (more disks and network cards, sound, USB, display, serial ports)?") { DefaultValue = false }))
        {
            request = CustomizeHardware(request, console);
        }

        return request;
    }

    /// <summary>Workstation's "Customize Hardware" page as a menu: each choice asks its settings, until Done.</summary>
    private static VmRequest CustomizeHardware(VmRequest request, IAnsiConsole console)
    {
        var disks = new List<string>(request.AddDisks ?? []);
        var nics = new List<string>(request.AddNics ?? []);
        while (true)
        {
            var choice = console.Prompt(new SelectionPrompt<string>()
                .Title("Customize hardware:")
                .AddChoices("Done", "Add a hard disk", "Add a network adapter", "Sound card", "USB controller", "Display", "Serial ports"));
            switch (choice)
            {
                case "Add a hard disk":
                    var size = console.Prompt(new TextPrompt<string>("Size of the new disk (10G, 512M ...):")
                        .Validate(t => ByteSize.TryParse(t, out _, out var e) ? ValidationResult.Success() : ValidationResult.Error(Markup.Escape(e))));
                    var bus = console.Prompt(new SelectionPrompt<string>().Title("Its disk type:").AddChoices("virtio-blk", "virtio-scsi", "sata", "nvme", "ide"));
                    disks.Add($"{size}:{bus}");
                    console.MarkupLine($"Added disk: [bold]{Markup.Escape(size)} on {bus}[/]");
                    break;
                case "Add a network adapter":
                    var mode = console.Prompt(new SelectionPrompt<string>().Title("Its connection:").AddChoices("nat", "bridge"));
                    nics.Add(mode == "bridge" ? "bridge:" + console.Prompt(new TextPrompt<string>("Host bridge:").DefaultValue("br0")) : "nat");
                    console.MarkupLine($"Added network adapter: [bold]{Markup.Escape(nics[^1])}[/]");
                    break;
                case "Sound card":
                    request = request with { Sound = console.Prompt(new SelectionPrompt<string>().Title("Sound card:").AddChoices("none", "hda", "ac97")) };
                    console.MarkupLine($"Sound card: [bold]{request.Sound}[/]");
                    break;
                case "USB controller":
                    request = request with { Usb = console.Prompt(new SelectionPrompt<string>().Title("USB controller:").AddChoices("xhci", "ehci", "uhci", "none")) };
                    request = request with { Tablet = request.Usb != "none" && console.Prompt(new ConfirmationPrompt("A USB tablet (the pointer follows the VNC screen's)?") { DefaultValue = true }) };
                    console.MarkupLine($"USB: [bold]{request.Usb}[/]");
                    break;
                case "Display":
                    request = request with { Display = console.Prompt(new SelectionPrompt<string>().Title("Display adapter:").AddChoices("std", "virtio", "qxl", "cirrus", "none")) };
                    console.MarkupLine($"Display: [bold]{request.Display}[/]");
                    break;
                case "Serial ports":
                    request = request with { SerialPorts = console.Prompt(new TextPrompt<int>("Serial ports (1 to 4; the first is the console):").DefaultValue(1).Validate(n => n is >= 1 and <= 4 ? ValidationResult.Success() : ValidationResult.Error("1 to 4"))) };
                    break;
                default:
                    return request with { AddDisks = disks.Count == 0 ? null : disks, AddNics = nics.Count == 0 ? null : nics };
            }
        }
    }

    /// <summary>
    /// The disk pages of Workstation's wizard: I/O controller and disk type,
    /// then a new virtual disk, an existing one (copied or attached) or a
    /// physical disk, then what that choice needs.
    /// </summary>
    private static VmRequest AskDisk(VmRequest request, IAnsiConsole console, Func<Option, bool> given, VmCreateOptions o, GuestOsFamily guest, VmDefaults defaults)
    {
        if (!given(o.DiskBus))
        {
            var machine = request.MachineType ?? VmDefaults.DefaultMachineType;
            var first = Data.KebabCase.Of(Vms.Qemu.QemuArguments.DefaultDiskBus(guest, machine));
            var buses = new[] { "virtio-blk", "virtio-scsi", "sata", "nvme", "ide" }
                .Where(b => b != "ide" || !Vms.Qemu.QemuSystem.IsQ35(machine))
                .OrderBy(b => b == first ? 0 : 1)
                .ToArray();
            request = request with { DiskBus = console.Prompt(new SelectionPrompt<string>().Title("I/O controller and disk type:").AddChoices(buses)) };
            console.MarkupLine($"Disk type: [bold]{request.DiskBus}[/]");
        }

        var kind = given(o.ExistingDisk) ? "existing" : given(o.DiskSize) || given(o.DiskFile) || given(o.Preallocate) ? "new" : null;
        if (kind is null)
        {
            (string Key, string Text) chosen = console.Prompt(new SelectionPrompt<(string Key, string Text)>()
                .Title("Disk:")
                .UseConverter(c => c.Text)
                .AddChoices(
                    ("new", "Create a new virtual disk"),
                    ("existing", "Use an existing virtual disk (any format qemu-img reads)"),
                    ("physical", "Use a physical disk (advanced: the guest gets all of it)")));
            kind = chosen.Key;
            console.MarkupLine($"Disk: [bold]{Markup.Escape(chosen.Text)}[/]");
        }

        if (kind == "physical" && !given(o.ExistingDisk))
        {
            var device = console.Prompt(new TextPrompt<string>("Physical disk (a block device such as /dev/sdb):")
                .Validate(p => Vms.Disks.BlockDevice.KernelName(p) is not null ? ValidationResult.Success() : ValidationResult.Error($"{Markup.Escape(p)} is not a block device of this host")));
            console.MarkupLine("[yellow]The guest can overwrite everything on this disk.[/]");
            return request with { ExistingDisk = device };
        }

        if (kind == "existing")
        {
            if (!given(o.ExistingDisk))
            {
                var image = console.Prompt(new TextPrompt<string>("Existing disk image file:")
                    .Validate(p => File.Exists(p) ? ValidationResult.Success() : ValidationResult.Error($"there is no file {Markup.Escape(p)}")));
                request = request with { ExistingDisk = image };
            }

            if (Vms.Disks.BlockDevice.KernelName(request.ExistingDisk!) is not null)
            {
                return request;
            }

            if (!given(o.Attach))
            {
                var use = console.Prompt(new SelectionPrompt<string>().Title("Use it:").AddChoices("copy: the VM gets its own copy (any format, converted)", "attach: the VM uses the file where it is (raw or qcow2)"));
                request = request with { AttachDisk = use.StartsWith("attach", StringComparison.Ordinal) };
                console.MarkupLine($"Use it: [bold]{Markup.Escape(use)}[/]");
            }

            if (request.AttachDisk)
            {
                return request;
            }
        }
        else if (!given(o.DiskSize))
        {
            var size = console.Prompt(new TextPrompt<string>("Maximum disk size (20G, 512M ...):")
                .DefaultValue(ByteSize.Format(defaults.DiskSizeBytes).Replace(" GiB", "G", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal))
                .Validate(s => ByteSize.TryParse(s, out _, out var e) ? ValidationResult.Success() : ValidationResult.Error(Markup.Escape(e))));
            ByteSize.TryParse(size, out var bytes, out _);
            request = request with { DiskSizeBytes = bytes };
        }

        if (!given(o.DiskFormat))
        {
            request = request with { DiskFormat = console.Prompt(new SelectionPrompt<string>().Title("Disk format:").AddChoices("qcow2", "raw")) };
            console.MarkupLine($"Disk format: [bold]{request.DiskFormat}[/]");
        }

        if (!given(o.Preallocate) && kind == "new")
        {
            var allocation = console.Prompt(new SelectionPrompt<string>().Title("Disk space:").AddChoices("sparse: grows as the guest writes", "preallocated: reserve all of it now"));
            request = request with { Preallocate = allocation.StartsWith("preallocated", StringComparison.Ordinal) };
            console.MarkupLine($"Disk space: [bold]{Markup.Escape(allocation)}[/]");
        }

        if (!given(o.DiskFile))
        {
            var file = console.Prompt(new TextPrompt<string>("Disk file:").DefaultValue(Path.Combine(request.Folder!, $"{request.Name}.{request.DiskFormat ?? "qcow2"}")));
            request = request with { DiskFile = file };
        }

        return request;
    }

    /// <summary>The summary page: what will be made, then "Create this virtual machine?".</summary>
    public static bool Confirm(VmPlan plan)
    {
        var console = CliOutput.Stdout;
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Ready to create the virtual machine[/]").AddColumn("Setting").AddColumn("Value");
        foreach (var (key, value) in VmAdmin.Describe(plan))
        {
            table.AddRow(new Text(key, new Style(decoration: Decoration.Bold)), new Text(value));
        }

        console.Write(table);
        return console.Prompt(new ConfirmationPrompt("Create this virtual machine?") { DefaultValue = true });
    }

    private static string? AskPassword(IAnsiConsole console)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            // Secret(null): nothing is echoed, not even a mask, as passwd does.
            var first = console.Prompt(new TextPrompt<string>("Password:").Secret(null));
            var second = console.Prompt(new TextPrompt<string>("Confirm password:").Secret(null));
            if (first == second)
            {
                return first;
            }

            console.MarkupLine("[red]The passwords do not match; try again.[/]");
        }

        return null;
    }
}
