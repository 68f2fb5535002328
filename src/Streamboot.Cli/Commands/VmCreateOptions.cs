using System.CommandLine;
using Streamboot.Admin.VirtualMachines;

namespace Streamboot.Cli.Commands;

/// <summary>The flags of <c>vm create</c>, one for each question of the wizard.</summary>
public sealed class VmCreateOptions
{
    public Option<string?> Folder { get; } = new("--folder") { Description = "Folder for the VM's files [default: DATA/vms/NAME]", HelpName = "DIR" };

    public Option<string?> Machine { get; } = new("--machine") { Description = "Hardware compatibility: QEMU machine type, q35 or pc, or a version such as pc-q35-7.2 [default: q35]", HelpName = "TYPE" };

    public Option<string?> GuestOs { get; } = new("--guest-os") { Description = "Guest operating system: linux, windows or other (picks drivers and defaults) [default: linux]", HelpName = "TYPE" };

    public Option<string?> OsVersion { get; } = new("--os-version") { Description = "Guest version, free text: debian12, ubuntu24.04, win11 ...", HelpName = "TEXT" };

    public Option<string?> Iso { get; } = new("--iso") { Description = "Installer disc image (ISO 9660), attached as a CD-ROM", HelpName = "FILE" };

    public Option<string?> FullName { get; } = new("--full-name") { Description = "Easy install: the user's full name [default: the user name]", HelpName = "TEXT" };

    public Option<string?> User { get; } = new("--user") { Description = "Easy install: the first user's login name (with --password or --password-file)", HelpName = "NAME" };

    public Option<string?> Password { get; } = new("--password") { Description = "Easy install: the user's password (visible to other users in 'ps': prefer --password-file)", HelpName = "TEXT" };

    public Option<string?> PasswordFile { get; } = new("--password-file") { Description = "Easy install: read the password from the first line of FILE ('-' for standard input)", HelpName = "FILE" };

    public Option<string?> HostName { get; } = new("--hostname") { Description = "Easy install: the guest's host name [default: from the VM name]", HelpName = "NAME" };

    public Option<int?> Sockets { get; } = new("--sockets") { Description = "Processors: sockets [default: 1]", HelpName = "N" };

    public Option<int?> Cores { get; } = new("--cores") { Description = "Processors: cores per socket [default: 2, or what the host has]", HelpName = "N" };

    public Option<string?> Memory { get; } = new("--memory") { Description = "Memory: MiB, or a size such as 4G (units " + ByteSize.Help + ") [default: 2048 for Linux, 4096 for Windows]", HelpName = "SIZE" };

    public Option<string?> DiskSize { get; } = new("--disk-size") { Description = "Disk size: 20G, 512M ... (units " + ByteSize.Help + ") [default: 20G for Linux, 64G for Windows]", HelpName = "SIZE" };

    public Option<string?> DiskFile { get; } = new("--disk-file") { Description = "Disk file (must not exist; relative to the VM's folder) [default: NAME.qcow2 in the folder]", HelpName = "FILE" };

    public Option<string?> DiskFormat { get; } = new("--disk-format") { Description = "qcow2 or raw [default: qcow2]", HelpName = "FORMAT" };

    public Option<bool> Preallocate { get; } = new("--preallocate") { Description = "Reserve the whole disk now instead of as it fills (sparse)" };

    public Option<string?> DiskBus { get; } = new("--disk-bus") { Description = "I/O controller and disk type: virtio-blk, virtio-scsi, sata, nvme or ide (i440FX only) [default: virtio-blk for Linux, sata (ide on pc) otherwise]", HelpName = "BUS" };

    public Option<string?> ExistingDisk { get; } = new("--existing-disk") { Description = "Use an existing disk: an image in any format qemu-img reads (copied into --disk-file, or used where it is with --attach), or a physical disk such as /dev/sdb (attached whole)", HelpName = "PATH" };

    public Option<bool> Attach { get; } = new("--attach") { Description = "With --existing-disk: use the raw or qcow2 image where it is instead of copying it (vm delete leaves it)" };

    public Option<string[]> AddDisk { get; } = new("--add-disk") { Description = "Customize hardware: one more new disk, SIZE or SIZE:BUS (10G, 4G:nvme); repeat for more", HelpName = "SPEC" };

    public Option<string[]> AddNic { get; } = new("--add-nic") { Description = "Customize hardware: one more network card, nat or bridge:BR; repeat for more", HelpName = "SPEC" };

    public Option<string?> Sound { get; } = new("--sound") { Description = "Sound card: none, hda (Intel HD Audio) or ac97 [default: none]", HelpName = "CARD" };

    public Option<string?> Usb { get; } = new("--usb") { Description = "USB controller: none, uhci (1.1), ehci (2.0) or xhci (3) [default: xhci]", HelpName = "CONTROLLER" };

    public Option<bool> NoTablet { get; } = new("--no-tablet") { Description = "No USB tablet (the pointer of the VNC screen)" };

    public Option<string?> Display { get; } = new("--display") { Description = "Display adapter: std, virtio, qxl, cirrus or none [default: std]", HelpName = "ADAPTER" };

    public Option<int?> SerialPorts { get; } = new("--serial-ports") { Description = "Serial ports, 1 to 4: the first is the console, the others sockets serialN.sock in the VM's folder [default: 1]", HelpName = "N" };

    public Option<bool> Tpm { get; } = new("--tpm") { Description = "A TPM 2.0 (swtpm; Windows 11 needs one) [default: for Windows guests]" };

    public Option<bool> NoTpm { get; } = new("--no-tpm") { Description = "No TPM, even for a Windows guest" };

    public Option<bool> SecureBoot { get; } = new("--secure-boot") { Description = "UEFI Secure Boot with Microsoft's keys enrolled (needs --firmware uefi and q35) [default: for Windows guests]" };

    public Option<bool> NoSecureBoot { get; } = new("--no-secure-boot") { Description = "No Secure Boot, even for a Windows guest" };

    public Option<string?> ProductKey { get; } = new("--product-key") { Description = "Windows easy install: the product key for autounattend.xml (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)", HelpName = "KEY" };

    public Option<string?> Edition { get; } = new("--edition") { Description = "Windows easy install: the edition to install, as install.wim names it (\"Windows 11 Pro\")", HelpName = "NAME" };

    public Option<string?> Config { get; } = new("--config") { Description = "The wizard's first question: typical (asks the essentials) or custom (asks everything) [default: asked]", HelpName = "TYPE" };

    public Option<string?> Firmware { get; } = new("--firmware") { Description = "bios or uefi [default: bios, uefi for Windows]", HelpName = "FIRMWARE" };

    public Option<string?> Network { get; } = new("--network") { Description = "nat (QEMU user networking), bridge (with --bridge), netboot (a diskless client of this server) or none [default: nat]", HelpName = "MODE" };

    public Option<string?> Bridge { get; } = new("--bridge") { Description = "Host bridge for --network bridge (or netboot on that network)", HelpName = "NAME" };

    public Option<string?> Collection { get; } = new("--collection") { Description = "With --network netboot: register the VM as a device of this collection", HelpName = "NAME" };

    public Option<string?> Mac { get; } = new("--mac") { Description = "MAC address of the VM's network card [default: a new 52:54:00:xx:xx:xx]", HelpName = "MAC" };

    public Option<bool> Yes { get; } = new("--yes", "-y") { Description = "Create without asking for confirmation" };

    public Option<bool> NoPrompt { get; } = new("--no-prompt") { Description = "Ask nothing, even in a terminal: flags and defaults only" };

    public IEnumerable<Option> All =>
    [
        Folder, Machine, GuestOs, OsVersion, Iso, FullName, User, Password, PasswordFile, HostName, Sockets, Cores, Memory,
        DiskSize, DiskFile, DiskFormat, Preallocate, DiskBus, ExistingDisk, Attach, AddDisk, AddNic, Sound, Usb, NoTablet, Display, SerialPorts, Tpm, NoTpm, SecureBoot, NoSecureBoot, ProductKey, Edition, Config, Firmware, Network, Bridge, Collection, Mac, Yes, NoPrompt,
    ];

    /// <summary>The request the flags make; null with the usage error when a flag's value is malformed.</summary>
    public VmRequest? Read(ParseResult parse, string? name, out string? error)
    {
        error = null;
        int? memory = null;
        if (parse.GetValue(Memory) is { } memoryText)
        {
            memory = ParseMemory(memoryText, out error);
            if (memory is null)
            {
                return null;
            }
        }

        long? disk = null;
        if (parse.GetValue(DiskSize) is { } diskText)
        {
            if (!ByteSize.TryParse(diskText, out var bytes, out var sizeError))
            {
                error = $"--disk-size: {sizeError}";
                return null;
            }

            disk = bytes;
        }

        if (parse.GetValue(Tpm) && parse.GetValue(NoTpm))
        {
            error = "give --tpm or --no-tpm, not both";
            return null;
        }

        if (parse.GetValue(SecureBoot) && parse.GetValue(NoSecureBoot))
        {
            error = "give --secure-boot or --no-secure-boot, not both";
            return null;
        }

        var password = parse.GetValue(Password);
        if (parse.GetValue(PasswordFile) is { } file)
        {
            if (password is not null)
            {
                error = "give --password or --password-file, not both";
                return null;
            }

            password = ReadPassword(file, out error);
            if (password is null)
            {
                return null;
            }
        }

        return new VmRequest
        {
            Name = name ?? "",
            Folder = parse.GetValue(Folder),
            MachineType = parse.GetValue(Machine),
            GuestOs = parse.GetValue(GuestOs),
            GuestOsVersion = parse.GetValue(OsVersion),
            InstallerIso = parse.GetValue(Iso),
            FullName = parse.GetValue(FullName),
            UserName = parse.GetValue(User),
            Password = password,
            HostName = parse.GetValue(HostName),
            Sockets = parse.GetValue(Sockets),
            CoresPerSocket = parse.GetValue(Cores),
            MemoryMiB = memory,
            DiskSizeBytes = disk,
            DiskFile = parse.GetValue(DiskFile),
            DiskFormat = parse.GetValue(DiskFormat),
            Preallocate = parse.GetValue(Preallocate),
            DiskBus = parse.GetValue(DiskBus),
            ExistingDisk = parse.GetValue(ExistingDisk),
            AttachDisk = parse.GetValue(Attach),
            AddDisks = parse.GetValue(AddDisk) is { Length: > 0 } disks ? disks : null,
            AddNics = parse.GetValue(AddNic) is { Length: > 0 } nics ? nics : null,
            Sound = parse.GetValue(Sound),
            Usb = parse.GetValue(Usb),
            Tablet = parse.GetValue(NoTablet) ? false : null,
            Display = parse.GetValue(Display),
            SerialPorts = parse.GetValue(SerialPorts),
            Tpm = parse.GetValue(Tpm) ? true : parse.GetValue(NoTpm) ? false : null,
            ProductKey = parse.GetValue(ProductKey),
            SecureBoot = parse.GetValue(SecureBoot) ? true : parse.GetValue(NoSecureBoot) ? false : null,
            Edition = parse.GetValue(Edition),
            Firmware = parse.GetValue(Firmware),
            Network = parse.GetValue(Network),
            Bridge = parse.GetValue(Bridge),
            Collection = parse.GetValue(Collection),
            Mac = parse.GetValue(Mac),
        };
    }

    /// <summary>Memory as the wizard asks it (<see cref="VmRequest.ParseMemory"/>).</summary>
    public static int? ParseMemory(string text, out string? error) => VmRequest.ParseMemory(text, out error);

    private static string? ReadPassword(string file, out string? error)
    {
        error = null;
        try
        {
            var line = file == "-" ? Console.In.ReadLine() : File.ReadLines(file).FirstOrDefault();
            if (string.IsNullOrEmpty(line))
            {
                error = $"--password-file {file}: the first line is empty";
                return null;
            }

            return line;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"--password-file {file}: {e.Message}";
            return null;
        }
    }
}
