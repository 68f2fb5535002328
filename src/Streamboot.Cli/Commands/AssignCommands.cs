using System.CommandLine;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot assign</c> and <c>unassign</c>: which vDisks a device may boot.</summary>
public static class AssignCommands
{
    public static Command Assign()
    {
        var device = new Argument<string>("DEVICE") { Description = "Device name or MAC address" };
        var vdisk = new Argument<string>("VDISK") { Description = "vDisk name" };
        var makeDefault = new Option<bool>("--default") { Description = "Boot this vDisk when the menu times out (a device's first vDisk is its default)" };
        var verb = new Command("assign", "Let a device boot a vDisk; several make a boot menu, in the order assigned") { device, vdisk, makeDefault };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Assignments.AssignAsync(parse.GetValue(device)!, parse.GetValue(vdisk)!, parse.GetValue(makeDefault), ct),
                d => DeviceCommands.Print(output, d, $"Assigned [bold]{VDiskCommands.Markup(parse.GetValue(vdisk)!)}[/] to [bold]{VDiskCommands.Markup(d.Name)}[/]"))));
        return verb;
    }

    public static Command Unassign()
    {
        var device = new Argument<string>("DEVICE") { Description = "Device name or MAC address" };
        var vdisk = new Argument<string>("VDISK") { Description = "vDisk name" };
        var verb = new Command("unassign", "Stop a device booting a vDisk") { device, vdisk };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Assignments.UnassignAsync(parse.GetValue(device)!, parse.GetValue(vdisk)!, ct),
                d => DeviceCommands.Print(output, d, $"Unassigned [bold]{VDiskCommands.Markup(parse.GetValue(vdisk)!)}[/] from [bold]{VDiskCommands.Markup(d.Name)}[/]"))));
        return verb;
    }
}
