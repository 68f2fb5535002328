using System.CommandLine;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Cli.Output;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot vdisk version ...</c>: the version chain of a vDisk.</summary>
public static class VersionCommands
{
    public static Command Create()
    {
        var command = new Command("version", "A vDisk's versions: new (maintenance) -> promote (test, production); rollback; merge");
        command.Subcommands.Add(Verb("new", "Open a new version in maintenance: a copy-on-write layer on the newest version", (admin, name, _, ct) => admin.NewAsync(name, null, ct)));
        var to = new Option<string?>("--to") { Description = "Skip ahead: test or production", HelpName = "STAGE" };
        command.Subcommands.Add(Verb("promote", "Move the newest version on: maintenance -> test -> production", (admin, name, parse, ct) => admin.PromoteAsync(name, parse.GetValue(to), ct), to));
        command.Subcommands.Add(Verb("rollback", "Discard the newest version (refused while a client runs it)", (admin, name, _, ct) => admin.RollbackAsync(name, ct)));
        command.Subcommands.Add(Verb("prune", "Remove versions below the newest base that no client runs", (admin, name, _, ct) => admin.PruneAsync(name, ct)));

        var vdisk = new Argument<string>("VDISK") { Description = "vDisk name" };
        var merge = new Command("merge", "Collapse the chain into a new base version; running clients keep their versions") { vdisk };
        merge.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            var result = await ProgressBar.RunAsync($"Merging {parse.GetValue(vdisk)}", !output.Json, progress =>
                site.Versions.MergeAsync(parse.GetValue(vdisk)!, progress, ct));
            return output.Result(result, v => VDiskCommands.Print(output, v, $"Merged [bold]{VDiskCommands.Markup(v.Name)}[/] into version {v.Versions[^1].Number}"));
        }));
        command.Subcommands.Add(merge);
        return command;
    }

    private static Command Verb(string name, string description, Func<IVersionAdmin, string, ParseResult, CancellationToken, Task<AdminResult<Admin.Views.VDiskView>>> act, params Option[] options)
    {
        var vdisk = new Argument<string>("VDISK") { Description = "vDisk name" };
        var verb = new Command(name, description) { vdisk };
        foreach (var option in options)
        {
            verb.Options.Add(option);
        }

        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await act(site.Versions, parse.GetValue(vdisk)!, parse, ct),
                v => VDiskCommands.Print(output, v, null))));
        return verb;
    }
}
