using System.CommandLine;
using System.Globalization;
using Streamboot.Cli.Output;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>vm snapshot VM take|list|revert|delete [SNAPSHOT]</c>: Workstation's
/// snapshots, kept inside the VM's qcow2 disk; a running VM's memory goes
/// into them too, so a revert resumes the guest where it was.
/// </summary>
public static class VmSnapshotCommand
{
    private static readonly string[] s_actions = ["take", "list", "revert", "delete"];

    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "VM name" };
        var action = new Argument<string>("ACTION") { Description = "take (disk, and memory when the VM runs), list, revert (disk and memory on a running VM, the disk on a stopped one) or delete" };
        action.AcceptOnlyFromAmong(s_actions);
        var snapshot = new Argument<string?>("SNAPSHOT") { Description = "The snapshot's name (letters, digits, '.', '_', '-'); for take, revert and delete", Arity = ArgumentArity.ZeroOrOne };
        var verb = new Command("snapshot", "Take, list, revert to or delete a VM's snapshots (a qcow2 disk holds them; a running VM's memory too)") { name, action, snapshot };
        verb.SetAction((parse, ct) =>
        {
            var what = parse.GetValue(action)!;
            var snap = parse.GetValue(snapshot);
            if (what == "list" && snap is not null)
            {
                return Task.FromResult(CliOutput.Usage($"vm snapshot NAME list takes no snapshot name ('{snap}')"));
            }

            if (what != "list" && string.IsNullOrEmpty(snap))
            {
                return Task.FromResult(CliOutput.Usage($"vm snapshot NAME {what} needs the snapshot's name: vm snapshot NAME {what} SNAPSHOT"));
            }

            var vm = parse.GetValue(name)!;
            return CliContext.RunAsync(parse, ct, async (site, output) =>
            {
                if (what == "list")
                {
                    return output.Result(await site.Vms.SnapshotsAsync(vm, ct), list => output.List(
                        list,
                        [new("Name", ColumnFit.Whole), new("Taken", ColumnFit.Whole), "Memory", new("Guest clock", ColumnFit.Optional)],
                        s => [s.Name, CliOutput.Time(s.TakenAt), s.Memory ? ByteSize.Format(s.MemoryBytes) : "no (disk only)", Clock(s.VmClockSeconds)],
                        $"VM {vm} has no snapshots. Take one with: streamboot vm snapshot {vm} take NAME"));
                }

                var result = what switch
                {
                    "take" => await site.Vms.TakeSnapshotAsync(vm, snap!, ct),
                    "revert" => await site.Vms.RevertSnapshotAsync(vm, snap!, ct),
                    _ => await site.Vms.DeleteSnapshotAsync(vm, snap!, ct),
                };
                return output.Result(result, s =>
                {
                    if (s.Note is { } note)
                    {
                        Console.Error.WriteLine($"streamboot: note: {note}");
                    }

                    if (output.Json)
                    {
                        return output.Item(s, []);
                    }

                    Console.WriteLine(what switch
                    {
                        "take" => $"Took snapshot {s.Name} of VM {s.Vm}" + (s.Memory ? $" with its memory ({ByteSize.Format(s.MemoryBytes)})." : " (disk only)."),
                        "revert" => $"VM {s.Vm} is back at snapshot {s.Name}" + (s.Memory && s.Note is null ? ", running from where it was." : "."),
                        _ => $"Deleted snapshot {s.Name} of VM {s.Vm}.",
                    });
                    return ExitCodes.Ok;
                });
            });
        });
        return verb;
    }

    private static string Clock(double seconds) => TimeSpan.FromSeconds(seconds).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture);
}
