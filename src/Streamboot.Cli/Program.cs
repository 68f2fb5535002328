using System.CommandLine;
using Streamboot.Cli;
using Streamboot.Cli.Commands;
using Streamboot.Cli.Output;

FileModes.RestrictNewFiles();
var root = new RootCommand("""
    Streamboot: an OS-streaming server. Diskless machines boot from the network
    and run an operating system streamed from a vDisk on this server.

    Start with 'streamboot serve', then add vDisks, devices and assignments.
    """)
{
    GlobalOptions.Data,
    GlobalOptions.Db,
    GlobalOptions.Server,
    GlobalOptions.Ca,
    GlobalOptions.Json,
};
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(VDiskCommands.Create());
root.Subcommands.Add(DeviceCommands.Create());
root.Subcommands.Add(CollectionCommands.Create());
root.Subcommands.Add(AssignCommands.Assign());
root.Subcommands.Add(AssignCommands.Unassign());
root.Subcommands.Add(SiteCommands.Session());
root.Subcommands.Add(SiteCommands.Server());
root.Subcommands.Add(SiteCommands.Dhcp());
root.Subcommands.Add(SiteCommands.Audit());
root.Subcommands.Add(AccessCommands.Tokens());
root.Subcommands.Add(AccessCommands.Accounts());
root.Subcommands.Add(SiteCommands.Db());
root.Subcommands.Add(StoreCommands.Site());
root.Subcommands.Add(VmCommands.Create());
root.Subcommands.Add(BootstrapCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(CompletionCommand.Create());
Completions.AttachTo(root);

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Usage errors exit 2, as Unix tools do; the parser's own handler would exit 1.
    foreach (var error in parse.Errors)
    {
        CliOutput.Fail(error.Message);
    }

    var verb = string.Join(' ', parse.CommandResult.Command is RootCommand ? [] : PathOf(parse.CommandResult.Command, root));
    Console.Error.WriteLine($"Run 'streamboot {(verb.Length > 0 ? verb + " " : "")}--help' for usage.");
    return ExitCodes.Usage;
}

// serve runs the Generic Host, whose own lifetime handles SIGTERM and Ctrl+C
// gracefully; System.CommandLine's termination handler would race it.
try
{
    return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    // A bug, not bad input: say so in one line, with the details on request.
    CliOutput.Fail($"unexpected error: {e.GetType().Name}: {e.Message}");
    if (Environment.GetEnvironmentVariable("STREAMBOOT_DEBUG") is { Length: > 0 })
    {
        Console.Error.WriteLine(e);
    }
    else
    {
        Console.Error.WriteLine("Set STREAMBOOT_DEBUG=1 to see the stack trace, and please report it.");
    }

    return ExitCodes.Failure;
}

static IEnumerable<string> PathOf(Command command, RootCommand root)
{
    var path = new Stack<string>();
    for (Command? c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault())
    {
        path.Push(c.Name);
    }

    return path;
}
