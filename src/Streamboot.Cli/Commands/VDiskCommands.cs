using System.CommandLine;
using System.Globalization;
using Streamboot.Admin;
using Streamboot.Admin.Views;
using Streamboot.Cli.Output;
using Streamboot.Data;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot vdisk ...</c>: the virtual disks clients boot.</summary>
public static class VDiskCommands
{
    public static Command Create()
    {
        var command = new Command("vdisk", "Create, list, show, change and delete vDisks");
        command.Subcommands.Add(CreateVerb());
        command.Subcommands.Add(ListVerb());
        command.Subcommands.Add(ShowVerb());
        command.Subcommands.Add(SetVerb());
        command.Subcommands.Add(DeleteVerb());
        command.Subcommands.Add(ImportVerb());
        command.Subcommands.Add(VersionCommands.Create());
        command.Subcommands.Add(StoreCommands.ReplicasVerb());
        return command;
    }

    private static Command CreateVerb()
    {
        var name = new Argument<string>("NAME") { Description = "vDisk name (letters, digits, '.', '_', '-')" };
        var size = new Option<string>("--size") { Description = "Disk size: 512M, 20G, 1T; units " + ByteSize.Help, HelpName = "SIZE", Required = true };
        var access = new Option<string?>("--access") { Description = "standard (shared, read-only, a write cache per client) or private (one client writes into it)", HelpName = "MODE" };
        var writeCache = new Option<string?>("--write-cache") { Description = "server-disk, server-ram, client-disk, client-ram, or none (private images)", HelpName = "MODE" };
        var description = new Option<string?>("--description") { Description = "Free text", HelpName = "TEXT" };
        var format = new Option<string?>("--format") { Description = "raw (a sparse file) or qcow2 [default: raw]", HelpName = "FORMAT" };
        var verb = new Command("create", "Create an empty vDisk in the data folder (sparse: it takes no space until written)") { name, size, format, access, writeCache, description };
        verb.SetAction((parse, ct) =>
        {
            if (!ByteSize.TryParse(parse.GetValue(size), out var bytes, out var sizeError))
            {
                return Task.FromResult(CliOutput.Usage($"--size: {sizeError}"));
            }

            return CliContext.RunCreatingAsync(parse, ct, async (site, output) =>
                output.Result(
                    await site.VDisks.CreateAsync(parse.GetValue(name)!, bytes, parse.GetValue(access), parse.GetValue(writeCache), parse.GetValue(description), ct, parse.GetValue(format)),
                    v => Print(output, v, $"Created vDisk [bold]{Markup(v.Name)}[/] ({ByteSize.Format(v.SizeBytes)} {KebabCase.Of(v.Format)}, sparse)")));
        });
        return verb;
    }

    private static Command ImportVerb()
    {
        var name = new Argument<string>("NAME") { Description = "Name of the new vDisk" };
        var file = new Argument<string>("FILE") { Description = "Disk image to import: raw, qcow2 (its backing chain is flattened), VHD, VHDX, VMDK or VDI. With --server, the absolute path of a file on the server, in a folder its API imports from (DATA/import)" };
        var sourceFormat = new Option<string?>("--source-format") { Description = "Format of FILE when detection is not wanted: raw, qcow2, vhd, vhdx, vmdk, vdi", HelpName = "FORMAT" };
        var format = new Option<string?>("--format") { Description = "Format of the new vDisk: qcow2 or raw [default: qcow2]", HelpName = "FORMAT" };
        var access = new Option<string?>("--access") { Description = "standard or private", HelpName = "MODE" };
        var writeCache = new Option<string?>("--write-cache") { Description = "server-disk, server-ram, client-disk, client-ram, or none (private images)", HelpName = "MODE" };
        var description = new Option<string?>("--description") { Description = "Free text", HelpName = "TEXT" };
        var verb = new Command("import", "Import a disk image as a new vDisk, with a progress bar (VHD, VHDX, VMDK and VDI need qemu-img)") { name, file, sourceFormat, format, access, writeCache, description };
        verb.SetAction((parse, ct) => CliContext.RunCreatingAsync(parse, ct, async (site, output) =>
        {
            // A local path is this machine's, from here; through --server it is the server's, as typed.
            var source = site.FilesAreHere ? Path.GetFullPath(parse.GetValue(file)!) : parse.GetValue(file)!;
            var result = await ProgressBar.RunAsync($"Importing {Path.GetFileName(source)}", !output.Json, progress =>
                site.VDisks.ImportAsync(parse.GetValue(name)!, source, parse.GetValue(sourceFormat), parse.GetValue(format), parse.GetValue(access), parse.GetValue(writeCache), parse.GetValue(description), progress, ct));
            return output.Result(result, v => Print(output, v, $"Imported [bold]{Markup(source)}[/] as vDisk [bold]{Markup(v.Name)}[/] ({ByteSize.Format(v.SizeBytes)} {KebabCase.Of(v.Format)})"));
        }));
        return verb;
    }

    private static Command ListVerb()
    {
        var verb = new Command("list", "List vDisks");
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.VDisks.ListAsync(ct), vdisks => output.List(
                vdisks,
                [new("Name", ColumnFit.Whole), new("Size", ColumnFit.Whole), "Format", new("Access", ColumnFit.Optional), "Write cache", new("Versions", ColumnFit.Optional), new("Devices", ColumnFit.Optional)],
                v =>
                [
                    v.Name,
                    ByteSize.Format(v.SizeBytes),
                    KebabCase.Of(v.Format),
                    KebabCase.Of(v.AccessMode),
                    KebabCase.Of(v.WriteCacheMode),
                    v.Versions.Count.ToString(CultureInfo.InvariantCulture),
                    v.AssignedDevices.Count.ToString(CultureInfo.InvariantCulture),
                ],
                "No vDisks yet. Create one with: streamboot vdisk create NAME --size 20G"))));
        return verb;
    }

    private static Command ShowVerb()
    {
        var name = new Argument<string>("NAME") { Description = "vDisk name" };
        var verb = new Command("show", "Show a vDisk, its version chain and its devices") { name };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.VDisks.ShowAsync(parse.GetValue(name)!, ct), v => Print(output, v, null))));
        return verb;
    }

    private static Command SetVerb()
    {
        var name = new Argument<string>("NAME") { Description = "vDisk name" };
        var description = new Option<string?>("--description") { Description = "Free text (\"\" clears it)", HelpName = "TEXT" };
        var writeCache = new Option<string?>("--write-cache") { Description = "server-disk, server-ram, client-disk, client-ram, or none (private images); boots that start from now use it", HelpName = "MODE" };
        var anonymous = new Option<bool?>("--anonymous-reads") { Description = "true or false: serve the read-only view of production (export VDISK) to anyone, without a boot's key", HelpName = "BOOL" };
        var bootProtocol = new Option<string?>("--boot-protocol") { Description = "How its devices boot it: nbd (kernel over HTTP, root over NBD), http (SAN boot over HTTP), iscsi (SAN boot over iSCSI, the OS takes the disk over from the iBFT: Windows), or auto", HelpName = "PROTOCOL" };
        bootProtocol.CompletionSources.Add("nbd", "http", "iscsi", "auto");
        var verb = new Command("set", "Change a vDisk") { name, description, writeCache, anonymous, bootProtocol };
        verb.SetAction((parse, ct) =>
        {
            var changes = new VDiskChanges(parse.GetValue(description), parse.GetValue(writeCache), parse.GetValue(anonymous), parse.GetValue(bootProtocol));
            if (changes == new VDiskChanges())
            {
                return Task.FromResult(CliOutput.Usage("nothing to change; give --description, --write-cache, --anonymous-reads or --boot-protocol (see 'streamboot vdisk set --help')"));
            }

            return CliContext.RunAsync(parse, ct, async (site, output) =>
                output.Result(await site.VDisks.SetAsync(parse.GetValue(name)!, changes, ct), v => Print(output, v, $"Changed vDisk [bold]{Markup(v.Name)}[/]")));
        });
        return verb;
    }

    private static Command DeleteVerb()
    {
        var name = new Argument<string>("NAME") { Description = "vDisk name" };
        var force = new Option<bool>("--force") { Description = "Also remove its assignments to devices" };
        var keepFiles = new Option<bool>("--keep-files") { Description = "Forget the vDisk but leave its images and boot files on disk (write caches and boot profiles go)" };
        var verb = new Command("delete", "Delete a vDisk and all its files: images, boot files, write caches, boot profiles (refused while streamed, and while devices are assigned unless --force)") { name, force, keepFiles };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.VDisks.DeleteAsync(parse.GetValue(name)!, parse.GetValue(force), parse.GetValue(keepFiles), ct),
                d => output.Json ? output.Item(d, []) : Done(Deleted(d)))));
        return verb;
    }

    /// <summary>What a delete did, everything it changed besides the vDisk itself included.</summary>
    private static string Deleted(VDiskDeletionView d)
    {
        var lines = new List<string>
        {
            d.KeptImages
                ? $"Deleted vDisk {d.VDisk.Name}; its images and boot files stay in {d.VDisk.StorePath}"
                : $"Deleted vDisk {d.VDisk.Name} and its files in {d.VDisk.StorePath}",
        };
        if (d.UnassignedDevices.Count > 0)
        {
            lines.Add($"Unassigned it from {d.UnassignedDevices.Count} device(s): {string.Join(", ", d.UnassignedDevices)}");
        }

        if (d.ClearedCollections.Count > 0)
        {
            lines.Add($"Collection(s) {string.Join(", ", d.ClearedCollections)} no longer give new devices a default vDisk; set one with 'streamboot collection set NAME --default-vdisk VDISK'");
        }

        if (d.LeftFiles.Count > 0)
        {
            lines.Add($"Left {d.LeftFiles.Count} file(s) that Streamboot did not make: {string.Join(", ", d.LeftFiles)}");
        }

        return string.Join('\n', lines);
    }

    internal static int Print(CliOutput output, VDiskView v, string? heading) => output.Item(
        v,
        [
            ("Name", v.Name),
            ("Size", $"{ByteSize.Format(v.SizeBytes)} ({v.SizeBytes.ToString(CultureInfo.InvariantCulture)} bytes)"),
            ("Format", KebabCase.Of(v.Format)),
            ("Access", KebabCase.Of(v.AccessMode)),
            ("Write cache", KebabCase.Of(v.WriteCacheMode)),
            ("Boot protocol", v.BootProtocol is { } protocol ? KebabCase.Of(protocol) : "nbd (auto)"),
            ("Anonymous reads", v.AnonymousReads ? "yes: export " + v.Name + " is served read-only to anyone" : "no: only devices with a boot's key"),
            ("Store", v.StorePath),
            ("Versions", string.Join("\n", v.Versions.Select(x => $"{x.Number}  {KebabCase.Of(x.Stage),-11}  {x.File}  {x.Description}"))),
            ("Devices", v.AssignedDevices.Count == 0 ? "(none)" : string.Join(", ", v.AssignedDevices)),
            ("Description", v.Description ?? ""),
            ("Created", CliOutput.Time(v.CreatedAt)),
        ],
        heading);

    internal static int Done(string message)
    {
        System.Console.Out.WriteLine(message);
        return ExitCodes.Ok;
    }

    internal static string Markup(string text) => Spectre.Console.Markup.Escape(text);
}
