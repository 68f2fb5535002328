using System.CommandLine;
using Streamboot.Admin;
using Streamboot.Admin.Views;
using Streamboot.Cli.Output;
using Streamboot.Data;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot device ...</c>: the client machines.</summary>
public static class DeviceCommands
{
    public static Command Create()
    {
        var command = new Command("device", "Add, list, show, change and delete devices (client machines)");
        command.Subcommands.Add(AddVerb());
        command.Subcommands.Add(ListVerb());
        command.Subcommands.Add(ShowVerb());
        command.Subcommands.Add(SetVerb());
        command.Subcommands.Add(DeleteVerb());
        return command;
    }

    private static Argument<string> DeviceArgument() => new("DEVICE") { Description = "Device name or MAC address" };

    private static Command AddVerb()
    {
        var mac = new Argument<string>("MAC") { Description = "MAC address: 52:54:00:12:34:56, 52-54-00-12-34-56 or 525400123456" };
        var fields = new DeviceFieldOptions(forAdd: true);
        var verb = new Command("add", "Add a device; without --name it is named from its collection's pattern (LAB-###)") { mac };
        fields.AddTo(verb);
        verb.SetAction((parse, ct) => CliContext.RunCreatingAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Devices.AddAsync(parse.GetValue(mac)!, fields.Read(parse), ct),
                d => Print(output, d, $"Added device [bold]{VDiskCommands.Markup(d.Name)}[/]"))));
        return verb;
    }

    private static Command ListVerb()
    {
        var collection = new Option<string?>("--collection") { Description = "Only this collection's devices", HelpName = "NAME" };
        var verb = new Command("list", "List devices") { collection };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Devices.ListAsync(parse.GetValue(collection), ct),
                devices => output.List(
                    devices,
                    [new("Name", ColumnFit.Whole), new("MAC", ColumnFit.Whole), "Collection", new("Type", ColumnFit.Optional), new("Enabled", ColumnFit.Optional), "vDisks"],
                    d => [d.Name, d.Mac, d.Collection, KebabCase.Of(d.Type), CliOutput.YesNo(d.Enabled), VDisks(d, "\n")],
                    parse.GetValue(collection) is { } name ? $"No devices in collection {name} yet." : "No devices yet. Add one with: streamboot device add 52:54:00:12:34:56"))));
        return verb;
    }

    private static Command ShowVerb()
    {
        var device = DeviceArgument();
        var verb = new Command("show", "Show a device") { device };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Devices.ShowAsync(parse.GetValue(device)!, ct), d => Print(output, d, null))));
        return verb;
    }

    private static Command SetVerb()
    {
        var device = DeviceArgument();
        var fields = new DeviceFieldOptions(forAdd: false);
        var verb = new Command("set", "Change a device") { device };
        fields.AddTo(verb);
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            var changes = fields.Read(parse);
            if (changes == new DeviceChanges())
            {
                return CliOutput.Usage("nothing to change; give at least one option, for example --name, --collection, --type or --enabled false (see 'streamboot device set --help')");
            }

            return output.Result(await site.Devices.SetAsync(parse.GetValue(device)!, changes, ct), d => Print(output, d, $"Updated device [bold]{VDiskCommands.Markup(d.Name)}[/]"));
        }));
        return verb;
    }

    private static Command DeleteVerb()
    {
        var device = DeviceArgument();
        var verb = new Command("delete", "Delete a device and its assignments") { device };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Devices.DeleteAsync(parse.GetValue(device)!, ct),
                d => output.Json ? output.Item(d, []) : VDiskCommands.Done($"Deleted device {d.Name} ({d.Mac})"))));
        return verb;
    }

    internal static int Print(CliOutput output, DeviceView d, string? heading) => output.Item(
        d,
        [
            ("Name", d.Name),
            ("MAC", d.Mac),
            ("Machine id", d.MachineId.ToString()),
            ("Collection", d.Collection),
            ("Type", KebabCase.Of(d.Type)),
            ("Enabled", CliOutput.YesNo(d.Enabled)),
            ("Write cache", d.WriteCacheMode is { } mode ? KebabCase.Of(mode) : "(the vDisk's)"),
            ("Persistent cache", CliOutput.YesNo(d.PersistentWriteCache)),
            ("Reserved address", d.IpAddress ?? "(none)"),
            ("Boot loader", d.BootLoader is { } loader ? KebabCase.Of(loader) : "(the collection's)"),
            ("vDisks", VDisks(d)),
            ("Description", d.Description ?? ""),
            ("Created", CliOutput.Time(d.CreatedAt)),
        ],
        heading);

    private static string VDisks(DeviceView d, string separator = ", ") =>
        d.Assignments.Count == 0 ? "(none)" : string.Join(separator, d.Assignments.Select(a => a.IsDefault ? a.VDisk + " (default)" : a.VDisk));

    /// <summary>The options add and set share.</summary>
    private sealed class DeviceFieldOptions
    {
        private readonly Option<string?> _name = new("--name") { Description = "Computer name (a host name: letters, digits, hyphens)", HelpName = "NAME" };
        private readonly Option<string?> _mac = new("--mac") { Description = "New MAC address (a replaced network card)", HelpName = "MAC" };
        private readonly Option<string?> _collection = new("--collection") { Description = "Collection [default: default]", HelpName = "NAME" };
        private readonly Option<string?> _description = new("--description") { Description = "Free text", HelpName = "TEXT" };
        private readonly Option<string?> _type = new("--type") { Description = "production, test or maintenance: which vDisk version it boots", HelpName = "TYPE" };
        private readonly Option<string?> _writeCache = new("--write-cache") { Description = "Override the vDisk's write cache: server-disk, server-ram, client-disk, client-ram, none, or inherit (the vDisk's)", HelpName = "MODE" };
        private readonly Option<bool?> _enabled = new("--enabled") { Description = "true or false: a disabled device is refused at boot", HelpName = "BOOL" };
        private readonly Option<bool?> _persistent = new("--persistent-write-cache") { Description = "true or false: keep its write cache across boots", HelpName = "BOOL" };
        private readonly Option<string?> _ip = new("--ip") { Description = "A fixed IPv4 address the server's DHCP (full mode) always gives it; none to remove", HelpName = "ADDRESS" };
        private readonly Option<string?> _bootLoader = new("--boot-loader") { Description = "What DHCP sends it as a x64 UEFI machine: ipxe, secure-boot (signed shim and GRUB: boots with Secure Boot on), or inherit (its collection's)", HelpName = "LOADER" };
        private readonly bool _forAdd;

        public DeviceFieldOptions(bool forAdd) => _forAdd = forAdd;

        public void AddTo(Command command)
        {
            command.Options.Add(_name);
            if (!_forAdd)
            {
                command.Options.Add(_mac);
            }

            command.Options.Add(_collection);
            command.Options.Add(_description);
            command.Options.Add(_type);
            command.Options.Add(_writeCache);
            command.Options.Add(_enabled);
            command.Options.Add(_persistent);
            command.Options.Add(_ip);
            command.Options.Add(_bootLoader);
        }

        public DeviceChanges Read(ParseResult parse) => new(
            Name: parse.GetValue(_name),
            Mac: _forAdd ? null : parse.GetValue(_mac),
            Collection: parse.GetValue(_collection),
            Description: parse.GetValue(_description),
            Type: parse.GetValue(_type),
            WriteCacheMode: parse.GetValue(_writeCache),
            Enabled: parse.GetValue(_enabled),
            PersistentWriteCache: parse.GetValue(_persistent),
            IpAddress: parse.GetValue(_ip),
            BootLoader: parse.GetValue(_bootLoader));
    }
}
