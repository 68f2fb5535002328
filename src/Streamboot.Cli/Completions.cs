using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Parsing;
using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Server.Configuration;

namespace Streamboot.Cli;

/// <summary>
/// What <c>streamboot completion bash</c> completes besides verbs and flags:
/// the names in the site (vDisks, devices, collections, VMs) where a verb
/// takes one, and the values of options that take one of a few words
/// (write-cache modes, stages, formats...). Attached by the name of the
/// argument or option over the whole command tree, so every verb that takes
/// a vDisk completes vDisks. Names are read from the site the command line
/// names (--data, --db, the environment); a site that does not exist is
/// never made by completing, and any failure completes nothing.
/// </summary>
public static class Completions
{
    private static readonly Dictionary<string, string[]> s_optionWords = new(StringComparer.Ordinal)
    {
        ["--type"] = Words<DeviceType>(),
        ["--to"] = ["test", "production"],
        ["--stage"] = Words<VersionStage>(),
        ["--format"] = ["qcow2", "raw"],
        ["--disk-format"] = ["qcow2", "raw"],
        ["--source-format"] = ["raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi"],
        ["--access"] = Words<AccessMode>(),
        ["--policy"] = Words<UnknownDevicePolicy>(),
        ["--accel"] = ["auto", "kvm", "tcg"],
        ["--network"] = Words<VmNetworkMode>(),
        ["--firmware"] = Words<VmFirmware>(),
        ["--disk-bus"] = Words<VmDiskBus>(),
        ["--sound"] = Words<VmSound>(),
        ["--usb"] = Words<VmUsb>(),
        ["--display"] = Words<VmDisplay>(),
        ["--config"] = ["typical", "custom"],
        ["--guest-os"] = Words<GuestOsFamily>(),
        ["--enabled"] = ["true", "false"],
        ["--persistent-write-cache"] = ["true", "false"],
        ["--anonymous-reads"] = ["true", "false"],
    };

    /// <summary>Adds the completion sources to every argument and option of <paramref name="root"/> that takes a name or a word.</summary>
    public static void AttachTo(Command root)
    {
        foreach (var command in Walk(root))
        {
            for (var index = 0; index < command.Arguments.Count; index++)
            {
                var position = index;
                if (NamesFor(command, command.Arguments[position].Name) is { } names)
                {
                    command.Arguments[position].CompletionSources.Add(context => AtPosition(context, position) ? Complete(context, names) : []);
                }
            }

            foreach (var option in command.Options)
            {
                Attach(command, option);
            }
        }
    }

    private static void Attach(Command command, Option option)
    {
        if (option.Name == "--write-cache")
        {
            string[] modes = [.. Words<WriteCacheMode>(), .. command.Parents.OfType<Command>().Any(p => p.Name == "device") ? ["inherit"] : Array.Empty<string>()];
            option.CompletionSources.Add(modes);
        }
        else if (option.Name == "--boot-loader")
        {
            option.CompletionSources.Add([.. Words<BootLoader>(), command.Parents.OfType<Command>().Any(p => p.Name == "device") ? "inherit" : "auto"]);
        }
        else if (s_optionWords.TryGetValue(option.Name, out var words))
        {
            option.CompletionSources.Add(words);
        }
        else if (option.Name is "--collection")
        {
            option.CompletionSources.Add(context => Complete(context, db => db.Collections.Select(c => c.Name)));
        }
        else if (option.Name is "--vdisk" or "--default-vdisk")
        {
            option.CompletionSources.Add(context => Complete(context, db => db.VDisks.Select(v => v.Name)));
        }
    }

    /// <summary>Which names an argument takes: by its own name, or for NAME by the noun of its verb (vdisk show NAME); none for a new name (create, add, import).</summary>
    private static Func<StreambootDbContext, IQueryable<string>>? NamesFor(Command command, string argument)
    {
        var noun = command.Parents.OfType<Command>().FirstOrDefault()?.Name;
        return argument switch
        {
            "VDISK" => db => db.VDisks.Select(v => v.Name),
            "DEVICE" => db => db.Devices.Select(d => d.Name),
            "NAME" when command.Name is "create" or "add" or "import" => null,
            "NAME" when noun == "vdisk" => db => db.VDisks.Select(v => v.Name),
            "NAME" when noun == "collection" => db => db.Collections.Select(c => c.Name),
            "NAME" when noun == "vm" => db => db.VirtualMachines.Select(v => v.Name),
            _ => null,
        };
    }

    /// <summary>
    /// Whether the word being completed is the command's argument at
    /// <paramref name="position"/> (the parser offers every argument's
    /// completions at once: "assign " must offer devices, not vDisks too).
    /// </summary>
    private static bool AtPosition(CompletionContext context, int position)
    {
        var given = context.ParseResult.CommandResult.Tokens.Count(t => t.Type == TokenType.Argument);
        return (context.WordToComplete.Length > 0 ? given - 1 : given) == position;
    }

    private static IEnumerable<CompletionItem> Complete(CompletionContext context, Func<StreambootDbContext, IQueryable<string>> names)
    {
        try
        {
            var word = context.WordToComplete;
            return [.. ReadNames(context.ParseResult, names).Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).Select(n => new CompletionItem(n))];
        }
#pragma warning disable CA1031 // Completing is best effort: a broken site completes nothing, it never fails the shell.
        catch (Exception)
#pragma warning restore CA1031
        {
            return [];
        }
    }

    private static List<string> ReadNames(ParseResult parse, Func<StreambootDbContext, IQueryable<string>> names)
    {
        // A remote site's names are the server's: completing never asks the network (a shell waits on every tab).
        if (RemoteTarget.Named(parse) is not null)
        {
            return [];
        }

        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (parse.GetValue(GlobalOptions.Data) is { } data)
        {
            flags["Data"] = data;
        }

        if (parse.GetValue(GlobalOptions.Db) is { } dbText)
        {
            flags["Db"] = dbText;
        }

        var options = StreambootConfiguration.Bind(StreambootConfiguration.Build(flags));
        var folder = Path.GetFullPath(string.IsNullOrWhiteSpace(options.Data) ? DataFolder.Default() : options.Data);
        DatabaseLocation? location = DatabaseLocation.InDataFolder(folder);
        if (!string.IsNullOrWhiteSpace(options.Db) && !DatabaseLocation.TryParse(options.Db, out location, out _))
        {
            return [];
        }

        if (!SiteDatabase.ExistsAsync(location).GetAwaiter().GetResult())
        {
            return [];
        }

        var database = SiteDatabase.OpenAsync(location).GetAwaiter().GetResult();
        using var db = database.CreateContext();
        return names(db).ToList();
    }

    private static string[] Words<T>()
        where T : struct, Enum => [.. Enum.GetValues<T>().Select(v => KebabCase.Of(v.ToString()))];

    private static IEnumerable<Command> Walk(Command command) => [command, .. command.Subcommands.SelectMany(Walk)];
}
