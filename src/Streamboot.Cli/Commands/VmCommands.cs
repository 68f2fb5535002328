using System.CommandLine;
using System.Globalization;
using Streamboot.Admin.Views;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Cli.Output;
using Streamboot.Data;
using Streamboot.Vms;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>streamboot vm ...</c>: virtual machines on QEMU, made the way VMware
/// Workstation's New Virtual Machine wizard makes them, and captured as vDisks.
/// </summary>
public static class VmCommands
{
    public static Command Create()
    {
        var command = new Command("vm", "Virtual machines: install golden images in them, run diskless clients, capture their disks as vDisks");
        command.Subcommands.Add(CreateVerb());
        command.Subcommands.Add(ListVerb());
        command.Subcommands.Add(ShowVerb());
        command.Subcommands.Add(StartVerb());
        command.Subcommands.Add(StopVerb());
        command.Subcommands.Add(ConsoleVerb());
        command.Subcommands.Add(CaptureVerb());
        command.Subcommands.Add(VmSnapshotCommand.Create());
        command.Subcommands.Add(DeleteVerb());
        return command;
    }

    private static Command CreateVerb()
    {
        var name = new Argument<string?>("NAME") { Description = "VM name (letters, digits, '.', '_', '-'); asked for in a terminal when left out", Arity = ArgumentArity.ZeroOrOne };
        var o = new VmCreateOptions();
        var verb = new Command("create", """
            Make a virtual machine. In a terminal it asks, like VMware Workstation's New Virtual Machine
            wizard, for every setting not given as a flag, shows a summary and asks to confirm; otherwise
            (scripts, --no-prompt) the flags and the guest's defaults are all there is.
            """)
        {
            name,
        };
        foreach (var option in o.All)
        {
            verb.Options.Add(option);
        }

        verb.SetAction(async (parse, ct) =>
        {
            var request = o.Read(parse, parse.GetValue(name), out var usage);
            if (request is null)
            {
                return CliOutput.Usage(usage!);
            }

            var remote = RemoteTarget.Named(parse) is not null;
            var interactive = !remote && !parse.GetValue(o.NoPrompt) && !parse.GetValue(GlobalOptions.Json) && !Console.IsInputRedirected && !Console.IsOutputRedirected;
            if (interactive)
            {
                return await WizardAsync(parse, o, request, ct);
            }

            if (request.Name.Length == 0)
            {
                return CliOutput.Usage(remote
                    ? "give the VM a NAME and its settings as flags: through --server nothing is asked (the wizard asks in a terminal of the server itself)"
                    : "give the VM a NAME (or run 'streamboot vm create' in a terminal for the wizard)");
            }

            return await CliContext.RunCreatingAsync(parse, ct, async (site, output) =>
                output.Result(await site.Vms.CreateAsync(request, ct), v => Created(output, v)));
        });
        return verb;
    }

    /// <summary>The wizard, in this machine's terminal, for this machine's site: its questions, its plan shown, confirmed, then made.</summary>
    private static Task<int> WizardAsync(ParseResult parse, VmCreateOptions o, VmRequest request, CancellationToken ct) =>
        CliContext.RunLocalAsync(parse, ct, "the vm create wizard", "it asks in a terminal of the server itself; give NAME and the flags instead", SiteUse.CreateIfMissing, async (_, site, output) =>
        {
            var admin = new VmAdmin(site);
            var asked = await VmWizard.AskAsync(request, admin, parse, o, ct);
            if (asked is null)
            {
                return ExitCodes.Failure;
            }

            var plan = await admin.PlanAsync(asked, ct);
            if (!plan.Ok)
            {
                return CliOutput.Error(plan.Error);
            }

            foreach (var note in plan.Value.Notes)
            {
                Console.Error.WriteLine($"streamboot: note: {note}");
            }

            if (!parse.GetValue(o.Yes) && !VmWizard.Confirm(plan.Value))
            {
                Console.WriteLine("Nothing was made.");
                return ExitCodes.Failure;
            }

            return output.Result(await admin.CreateAsync(plan.Value, ct), v => Created(output, v));
        });

    private static int Created(CliOutput output, VmView v)
    {
        foreach (var note in v.Notes ?? [])
        {
            Console.Error.WriteLine($"streamboot: note: {note}");
        }

        var code = Print(output, v, $"Created VM [bold]{Markup(v.Name)}[/]");
        if (!output.Json)
        {
            Console.WriteLine();
            Console.WriteLine($"Start it with: streamboot vm start {v.Name}" + (v.Network == VmNetworkMode.Netboot ? "   (it boots from this server: streamboot serve must run)" : ""));
        }

        return code;
    }

    private static Command ListVerb()
    {
        var verb = new Command("list", "List the VMs and whether they run");
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Vms.ListAsync(ct), vms => output.List(
                vms,
                [new("Name", ColumnFit.Whole), new("State", ColumnFit.Whole), new("Guest", ColumnFit.Optional), new("CPUs", ColumnFit.Optional), new("Memory", ColumnFit.Optional), "Disk", "Network", new("MAC", ColumnFit.Whole)],
                v =>
                [
                    v.Name,
                    v.State,
                    KebabCase.Of(v.GuestOs) + (v.GuestOsVersion is null ? "" : $" {v.GuestOsVersion}"),
                    v.Cpus.ToString(CultureInfo.InvariantCulture),
                    $"{v.MemoryMiB.ToString(CultureInfo.InvariantCulture)} MiB",
                    v.DiskSizeBytes is { } size ? $"{ByteSize.Format(size)} {KebabCase.Of(v.DiskFormat!.Value)}" : "none",
                    Network(v),
                    v.Mac,
                ],
                "No VMs yet. Make one with: streamboot vm create"))));
        return verb;
    }

    private static Command ShowVerb()
    {
        var name = new Argument<string>("NAME") { Description = "VM name" };
        var verb = new Command("show", "Show a VM: its hardware, files, console log, and its process and screen when it runs") { name };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Vms.ShowAsync(parse.GetValue(name)!, ct), v => Print(output, v, null))));
        return verb;
    }

    private static Command StartVerb()
    {
        var name = new Argument<string>("NAME") { Description = "VM name" };
        var accel = new Option<string?>("--accel") { Description = "auto (KVM when it works here, else plain emulation), kvm, or tcg (plain emulation) [default: auto]", HelpName = "ACCEL" };
        var waitFor = new Option<string?>("--wait-for") { Description = "Return only once the VM's serial console shows TEXT (for scripts); exit 1 if it stops or time runs out first", HelpName = "TEXT" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds --wait-for waits", HelpName = "SECONDS", DefaultValueFactory = _ => 300 };
        var serverPort = new Option<int?>("--server-port")
        {
            Description = "A netboot VM behind NAT: the HTTP port of the Streamboot server it boots from [default: the running server's (server list); with none running, STREAMBOOT_HTTP_PORT or 8080]",
            HelpName = "PORT",
        };
        var verb = new Command("start", "Start a VM in QEMU (it runs in the background; 'vm console' attaches to its serial console)") { name, accel, waitFor, timeout, serverPort };
        verb.SetAction((parse, ct) =>
        {
            var seconds = parse.GetValue(timeout);
            if (seconds is < 1 or > 86400)
            {
                return Task.FromResult(CliOutput.Usage($"--timeout {seconds.ToString(CultureInfo.InvariantCulture)} is out of range; give 1 to 86400 seconds"));
            }

            var text = parse.GetValue(waitFor);
            if (text is { Length: 0 })
            {
                return Task.FromResult(CliOutput.Usage("--wait-for needs the text to wait for"));
            }

            return CliContext.RunAsync(parse, ct, async (site, output) =>
            {
                var started = await site.Vms.StartAsync(parse.GetValue(name)!, parse.GetValue(accel), parse.GetValue(serverPort), ct);
                if (!started.Ok)
                {
                    return CliOutput.Error(started.Error);
                }

                var start = started.Value;
                var view = start.Vm;
                if (start.Note is { } note)
                {
                    Console.Error.WriteLine($"streamboot: note: {note}");
                }

                if (!output.Json)
                {
                    Console.WriteLine($"Started VM {view.Name} (QEMU PID {start.Pid.ToString(CultureInfo.InvariantCulture)}, {(start.Accelerator == "kvm" ? "KVM" : "plain emulation")}); console log {view.ConsoleLog}");
                    if (start.NetbootUrl is { } url)
                    {
                        Console.WriteLine($"It boots from {url} ({start.NetbootSource}; --server-port chooses another)");
                    }
                }

                if (text is null)
                {
                    return output.Json ? output.Item(view, []) : ExitCodes.Ok;
                }

                var waited = await site.Vms.WaitForConsoleAsync(view.Name, text, TimeSpan.FromSeconds(seconds), ct);
                if (!waited.Ok)
                {
                    return CliOutput.Error(waited.Error);
                }

                if (waited.Value == VmWaitOutcome.Seen)
                {
                    if (!output.Json)
                    {
                        Console.WriteLine($"The console shows '{text}'.");
                    }

                    return output.Json ? output.Item(view, []) : ExitCodes.Ok;
                }

                CliOutput.Fail(waited.Value == VmWaitOutcome.Stopped
                    ? $"VM {view.Name} stopped before its console showed '{text}'"
                    : $"VM {view.Name}'s console did not show '{text}' in {seconds.ToString(CultureInfo.InvariantCulture)} s (it is still running; 'streamboot vm stop {view.Name}' stops it)");
                var log = await site.Vms.ConsoleAsync(view.Name, ct);
                Console.Error.WriteLine("Its console's last lines:");
                foreach (var line in (log.Ok ? log.Value : "").Split('\n').TakeLast(15))
                {
                    Console.Error.WriteLine("  " + line);
                }

                return ExitCodes.Failure;
            });
        });
        return verb;
    }

    private static Command StopVerb()
    {
        var name = new Argument<string>("NAME") { Description = "VM name" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds the guest has to shut down after the ACPI power button before QEMU is stopped hard", HelpName = "SECONDS", DefaultValueFactory = _ => 60 };
        var hard = new Option<bool>("--hard") { Description = "Pull the plug at once, without asking the guest (like a power cut: unsaved data in the guest is lost)" };
        var verb = new Command("stop", "Shut a VM down: the ACPI power button first, then a hard stop if the guest does not power off in time") { name, timeout, hard };
        verb.SetAction((parse, ct) =>
        {
            var seconds = parse.GetValue(timeout);
            if (seconds is < 0 or > 3600)
            {
                return Task.FromResult(CliOutput.Usage($"--timeout {seconds.ToString(CultureInfo.InvariantCulture)} is out of range; give 0 to 3600 seconds"));
            }

            return CliContext.RunAsync(parse, ct, async (site, output) =>
            {
                // Say what is about to happen only when something is: a stopped VM is just reported.
                var before = await site.Vms.ShowAsync(parse.GetValue(name)!, ct);
                if (!output.Json && before.Ok && before.Value.State == "running")
                {
                    Console.WriteLine(parse.GetValue(hard) ? "Stopping hard..." : $"Pressing the power button (up to {seconds.ToString(CultureInfo.InvariantCulture)} s for the guest to shut down)...");
                }

                var stopped = await site.Vms.StopAsync(parse.GetValue(name)!, TimeSpan.FromSeconds(seconds), parse.GetValue(hard), ct);
                if (!stopped.Ok)
                {
                    return CliOutput.Error(stopped.Error);
                }

                var stop = stopped.Value;
                var took = stop.Seconds.ToString("0.0", CultureInfo.InvariantCulture);
                var message = stop.Outcome switch
                {
                    VmStopOutcome.NotRunning => $"VM {stop.Name} is not running.",
                    VmStopOutcome.PoweredOff => $"VM {stop.Name} shut down ({took} s).",
                    VmStopOutcome.StoppedAfterTimeout => $"VM {stop.Name} did not shut down in {seconds.ToString(CultureInfo.InvariantCulture)} s; stopped it hard.",
                    _ => $"VM {stop.Name} stopped hard.",
                };
                if (output.Json)
                {
                    return output.Item(stop, []);
                }

                Console.WriteLine(message);
                return ExitCodes.Ok;
            });
        });
        return verb;
    }

    private static Command ConsoleVerb()
    {
        var name = new Argument<string>("NAME") { Description = "VM name" };
        var verb = new Command("console", "Attach this terminal to a running VM's serial console (Ctrl+] leaves; the VM keeps running)") { name };
        verb.SetAction((parse, ct) => CliContext.RunLocalAsync(parse, ct, "vm console", "it attaches this terminal to the VM's serial socket at the server; run it there (ssh -t SERVER streamboot vm console NAME), or wait for console text with 'vm start NAME --wait-for TEXT'", SiteUse.Existing, async (_, site, output) =>
        {
            var folder = await new VmAdmin(site).FolderAsync(parse.GetValue(name)!, ct);
            if (!folder.Ok)
            {
                return CliOutput.Error(folder.Error);
            }

            return await VmConsoleAttach.RunAsync(parse.GetValue(name)!, folder.Value, ct);
        }));
        return verb;
    }

    private static Command CaptureVerb()
    {
        var name = new Argument<string>("NAME") { Description = "VM name (shut down)" };
        var vdisk = new Option<string>("--vdisk") { Description = "The vDisk to make, or with --new-version the vDisk to add a version to", HelpName = "VDISK", Required = true };
        var newVersion = new Option<bool>("--new-version") { Description = "Add the disk as the next version of an existing vDisk (only the changed blocks are stored)" };
        var stage = new Option<string?>("--stage") { Description = "With --new-version: promote the new version to test or production at once [default: it stays in maintenance]", HelpName = "STAGE" };
        var format = new Option<string?>("--format") { Description = "A new vDisk's format: qcow2 or raw [default: qcow2]", HelpName = "FORMAT" };
        var access = new Option<string?>("--access") { Description = "A new vDisk's access: standard or private", HelpName = "MODE" };
        var writeCache = new Option<string?>("--write-cache") { Description = "A new vDisk's write cache: server-disk, server-ram, client-disk, client-ram or none", HelpName = "MODE" };
        var description = new Option<string?>("--description") { Description = "Free text [default: captured from VM NAME]", HelpName = "TEXT" };
        var verb = new Command("capture", "Turn a VM's disk into a vDisk (or a new version of one) that diskless clients boot, with a progress bar") { name, vdisk, newVersion, stage, format, access, writeCache, description };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            var vm = parse.GetValue(name)!;
            var result = await ProgressBar.RunAsync($"Capturing {vm}", !output.Json, progress =>
                site.Vms.CaptureAsync(vm, parse.GetValue(vdisk)!, parse.GetValue(newVersion), parse.GetValue(format), parse.GetValue(access), parse.GetValue(writeCache), parse.GetValue(description), parse.GetValue(stage), progress, ct));
            return output.Result(result, v =>
            {
                var top = v.Versions[^1];
                var code = VDiskCommands.Print(output, v, parse.GetValue(newVersion)
                    ? $"Captured VM [bold]{Markup(vm)}[/] as version {top.Number.ToString(CultureInfo.InvariantCulture)} of vDisk [bold]{Markup(v.Name)}[/] ({KebabCase.Of(top.Stage)})"
                    : $"Captured VM [bold]{Markup(vm)}[/] as vDisk [bold]{Markup(v.Name)}[/]");
                if (!output.Json)
                {
                    Console.WriteLine();
                    Console.WriteLine(parse.GetValue(newVersion) && top.Stage != Data.Model.VersionStage.Production
                        ? $"Promote it when tested: streamboot vdisk version promote {v.Name}"
                        : $"Assign it to devices: streamboot assign DEVICE {v.Name}");
                }

                return code;
            });
        }));
        return verb;
    }

    private static Command DeleteVerb()
    {
        var name = new Argument<string>("NAME") { Description = "VM name" };
        var keepFiles = new Option<bool>("--keep-files") { Description = "Forget the VM but leave its disk and other files in its folder" };
        var verb = new Command("delete", "Delete a shut-down VM and its files (disk, seed, firmware variables, logs)") { name, keepFiles };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(
                await site.Vms.DeleteAsync(parse.GetValue(name)!, parse.GetValue(keepFiles), ct),
                v =>
                {
                    if (output.Json)
                    {
                        return output.Item(v, []);
                    }

                    Console.WriteLine(parse.GetValue(keepFiles) ? $"Deleted VM {v.Name}; its files stay in {v.Folder}" : $"Deleted VM {v.Name} and its files in {v.Folder}");
                    if (v.Device is { } device)
                    {
                        Console.WriteLine($"Device {device} stays; 'streamboot device delete {device}' removes it.");
                    }

                    return ExitCodes.Ok;
                })));
        return verb;
    }

    internal static int Print(CliOutput output, VmView v, string? heading) => output.Item(
        v,
        [
            ("Name", v.Name),
            ("State", v.State + (v.Pid is { } pid ? $" (QEMU PID {pid.ToString(CultureInfo.InvariantCulture)}, {(v.Accelerator == "kvm" ? "KVM" : "plain emulation")}{(v.StartedAt is { } at ? ", since " + CliOutput.Time(at) : "")})" : "")),
            ("Guest OS", KebabCase.Of(v.GuestOs) + (v.GuestOsVersion is null ? "" : $" ({v.GuestOsVersion})")),
            ("Hardware", $"{v.MachineType}, {(v.Firmware == VmFirmware.Uefi ? "UEFI" : "BIOS")}"),
            ("Processors", $"{v.Sockets.ToString(CultureInfo.InvariantCulture)} socket(s) x {v.CoresPerSocket.ToString(CultureInfo.InvariantCulture)} core(s)"),
            ("Memory", $"{v.MemoryMiB.ToString(CultureInfo.InvariantCulture)} MiB"),
            ("Disk", v.DiskFile is null ? "none (boots from the network)" : $"{ByteSize.Format(v.DiskSizeBytes ?? 0)} {KebabCase.Of(v.DiskFormat!.Value)}{(v.DiskBus is { } bus ? " on " + KebabCase.Of(bus) : "")}{(v.DiskPreallocated ? " preallocated" : "")}{(v.DiskAttached ? " (attached: vm delete leaves it)" : "")}: {v.DiskFile}"),
            ("Installer", v.InstallerIso ?? "none"),
            ("Easy install", v.UserName is null ? "no" : $"{v.FullName} ({v.UserName}), host name {v.HostName}: {v.SeedFile}"),
            ("Network", Network(v)),
            ("MAC", v.Mac),
            ("Device", v.Device ?? ""),
            ("Folder", v.Folder),
            ("Console log", v.ConsoleLog),
            ("Screen", v.Screen is { } screen ? $"VNC {screen} (from another machine: ssh -L 5900:{screen} this-host)" : v.State == "running" ? "VNC on loopback" : ""),
            ("Created", CliOutput.Time(v.CreatedAt)),
            .. VmAdmin.DescribeExtra(v.Hardware),
        ],
        heading);

    private static string Network(VmView v) => v.Network switch
    {
        VmNetworkMode.Bridge => $"bridge {v.Bridge}",
        VmNetworkMode.Netboot => v.Bridge is null ? "netboot (NAT)" : $"netboot (bridge {v.Bridge})",
        _ => KebabCase.Of(v.Network),
    };

    internal static string Markup(string text) => Spectre.Console.Markup.Escape(text);
}
