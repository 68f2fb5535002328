using System.CommandLine;
using System.Globalization;
using Streamboot.Admin;
using Streamboot.Admin.Views;
using Streamboot.Cli.Output;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot collection ...</c>: groups of devices.</summary>
public static class CollectionCommands
{
    public static Command Create()
    {
        var command = new Command("collection", "Add, list, show, change and delete collections of devices");
        command.Subcommands.Add(AddVerb());
        command.Subcommands.Add(ListVerb());
        command.Subcommands.Add(ShowVerb());
        command.Subcommands.Add(SetVerb());
        command.Subcommands.Add(DeleteVerb());
        return command;
    }

    private static Command AddVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Collection name" };
        var fields = new CollectionFieldOptions(forAdd: true);
        var verb = new Command("add", "Add a collection") { name };
        fields.AddTo(verb);
        verb.SetAction((parse, ct) => CliContext.RunCreatingAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Collections.AddAsync(parse.GetValue(name)!, fields.Read(parse), ct),
                c => Print(output, c, $"Added collection [bold]{VDiskCommands.Markup(c.Name)}[/]" + TookUnknown(c)))));
        return verb;
    }

    private static Command ListVerb()
    {
        var verb = new Command("list", "List collections");
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Collections.ListAsync(ct), collections => output.List(
                collections,
                [new("Name", ColumnFit.Whole), "Pattern", "Unknown devices", "Default vDisk", new("Devices", ColumnFit.Optional)],
                c => [c.Name, c.NamingPattern, UnknownText(c), c.DefaultVDisk ?? "(none)", c.Devices.ToString(CultureInfo.InvariantCulture)],
                "No collections."))));
        return verb;
    }

    private static Command ShowVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Collection name" };
        var verb = new Command("show", "Show a collection") { name };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Collections.ShowAsync(parse.GetValue(name)!, ct), c => Print(output, c, null))));
        return verb;
    }

    private static Command SetVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Collection name" };
        var fields = new CollectionFieldOptions(forAdd: false);
        var verb = new Command("set", "Change a collection") { name };
        fields.AddTo(verb);
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            var changes = fields.Read(parse);
            if (changes == new CollectionChanges())
            {
                return CliOutput.Usage("nothing to change; give at least one option, for example --pattern, --policy or --default-vdisk (see 'streamboot collection set --help')");
            }

            return output.Result(
                await site.Collections.SetAsync(parse.GetValue(name)!, changes, ct),
                c => Print(output, c, $"Updated collection [bold]{VDiskCommands.Markup(c.Name)}[/]" + TookUnknown(c)));
        }));
        return verb;
    }

    private static Command DeleteVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Collection name" };
        var verb = new Command("delete", "Delete an empty collection") { name };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Collections.DeleteAsync(parse.GetValue(name)!, ct),
                c => output.Json ? output.Item(c, []) : VDiskCommands.Done($"Deleted collection {c.Name}"))));
        return verb;
    }

    private static int Print(CliOutput output, CollectionView c, string? heading) => output.Item(
        c,
        [
            ("Name", c.Name),
            ("Naming pattern", c.NamingPattern),
            ("Unknown devices", UnknownText(c)),
            ("Default vDisk", c.DefaultVDisk ?? "(none)"),
            ("Boot protocol", c.BootProtocol is { } protocol ? KebabCase.Of(protocol) : "as each vDisk says"),
            ("Boot loader", c.BootLoader is { } loader ? KebabCase.Of(loader) : "auto (ipxe)"),
            ("Devices", c.Devices.ToString(CultureInfo.InvariantCulture)),
            ("Description", c.Description ?? ""),
            ("Created", CliOutput.Time(c.CreatedAt)),
        ],
        heading);

    /// <summary>What changed for unknown machines when this collection took them from another.</summary>
    private static string TookUnknown(CollectionView c)
    {
        if (c.TookUnknownFrom is not { } previous)
        {
            return "";
        }

        var now = c.UnknownDevicePolicy switch
        {
            UnknownDevicePolicy.AutoRegister when c.DefaultVDisk is null =>
                $"refused: {c.Name} registers them but has no default vDisk ('streamboot collection set {c.Name} --default-vdisk VDISK')",
            UnknownDevicePolicy.AutoRegister => $"registered into {c.Name} with vDisk {c.DefaultVDisk}",
            UnknownDevicePolicy.Menu => $"shown a menu of vDisks to register into {c.Name}",
            _ => $"refused ({c.Name}'s policy; 'streamboot collection set {c.Name} --policy auto-register' registers them)",
        };
        return VDiskCommands.Markup($"\nUnknown machines now fall into {c.Name} instead of {previous}: they are {now}.");
    }

    /// <summary>The policy, and whether this is the collection unknown machines fall into (only then does it apply).</summary>
    private static string UnknownText(CollectionView c) =>
        c.ReceivesUnknown ? $"{KebabCase.Of(c.UnknownDevicePolicy)} (receives unknown)" : KebabCase.Of(c.UnknownDevicePolicy);

    private sealed class CollectionFieldOptions(bool forAdd)
    {
        private readonly Option<string?> _rename = new("--rename") { Description = "New name", HelpName = "NAME" };
        private readonly Option<string?> _pattern = new("--pattern") { Description = "Names of new devices, '#' for digits: LAB-### [default for add: NAME-###]", HelpName = "PATTERN" };
        private readonly Option<string?> _policy = new("--policy") { Description = "Unknown devices: auto-register, menu or refuse [default for add: refuse]", HelpName = "POLICY" };
        private readonly Option<string?> _defaultVDisk = new("--default-vdisk") { Description = "vDisk every new device of the collection is assigned (device add, vm create --collection, registration at boot); none to clear", HelpName = "VDISK" };
        private readonly Option<string?> _description = new("--description") { Description = "Free text", HelpName = "TEXT" };
        private readonly Option<string?> _bootProtocol = new("--boot-protocol") { Description = "How its devices boot, whatever their vDisk says: nbd, http, iscsi, or auto (as the vDisk says)", HelpName = "PROTOCOL" };
        private readonly Option<string?> _bootLoader = new("--boot-loader") { Description = "What DHCP sends its x64 UEFI devices (each may say otherwise): ipxe, secure-boot (signed shim and GRUB: boots with Secure Boot on), or auto (ipxe)", HelpName = "LOADER" };
        private readonly Option<bool?> _receivesUnknown = new("--receives-unknown")
        {
            Description = "Machines the server does not know fall into this collection, whose --policy then applies (one collection at a time; false to stop)",
            Arity = ArgumentArity.ZeroOrOne,
        };

        public void AddTo(Command command)
        {
            if (!forAdd)
            {
                command.Options.Add(_rename);
            }

            command.Options.Add(_pattern);
            command.Options.Add(_policy);
            command.Options.Add(_defaultVDisk);
            command.Options.Add(_description);
            command.Options.Add(_receivesUnknown);
            command.Options.Add(_bootProtocol);
            command.Options.Add(_bootLoader);
        }

        public CollectionChanges Read(ParseResult parse) => new(
            Name: forAdd ? null : parse.GetValue(_rename),
            Description: parse.GetValue(_description),
            NamingPattern: parse.GetValue(_pattern),
            UnknownDevicePolicy: parse.GetValue(_policy),
            DefaultVDisk: parse.GetValue(_defaultVDisk),
            ReceivesUnknown: parse.GetResult(_receivesUnknown) is null ? null : parse.GetValue(_receivesUnknown) ?? true,
            BootProtocol: parse.GetValue(_bootProtocol),
            BootLoader: parse.GetValue(_bootLoader));
    }
}
