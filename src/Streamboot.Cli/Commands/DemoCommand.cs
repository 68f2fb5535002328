using System.CommandLine;
using System.Globalization;
using Streamboot.Cli.Output;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>streamboot demo</c>: the whole product on this machine alone: one
/// diskless VM boots the test OS from a server in a private network
/// namespace. The steps (packages, the test image, namespaces, QEMU) are
/// client/demo/demo.sh; this verb checks the flags and runs it with this
/// very binary (see <see cref="DemoRunner"/>).
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var check = new Option<bool>("--check") { Description = "No interaction: exit 0 once the VM runs the test OS from the streamed vDisk under the device's name, 1 otherwise" };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds for the server and the VM to come up (package installs and the image build do not count)",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => 300,
        };
        var command = new Command("demo", """
            Show the whole product on this machine (root, Debian): installs what is missing (apt), builds
            the test OS, runs 'serve' with its own DHCP in a private network namespace and boots one
            diskless VM from it, showing its console live. Ctrl+C stops and cleans up everything.
            Its site lives in a temporary folder, removed at the end, unless --data names one to keep.
            """)
        {
            check,
            timeout,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (RemoteTarget.RefuseFor(parse, "demo", "it runs a server and a VM on this machine; run it without --server and STREAMBOOT_SERVER") is { } refused)
            {
                return refused;
            }

            var seconds = parse.GetValue(timeout);
            if (seconds is < 10 or > 3600)
            {
                return CliOutput.Usage($"--timeout {seconds.ToString(CultureInfo.InvariantCulture)} is out of range; give 10 to 3600 seconds");
            }

            var data = parse.GetValue(GlobalOptions.Data);
            if (data is not null && File.Exists(data))
            {
                return CliOutput.Usage($"--data {data} is a file; give a folder (it is created if missing) or leave it out for a temporary one");
            }

            var script = DemoRunner.FindScript();
            if (script is null)
            {
                CliOutput.Fail("client/demo/demo.sh is not beside this binary's source tree; run the demo from a Streamboot checkout: ./streamboot demo");
                return ExitCodes.Failure;
            }

            return await DemoRunner.RunAsync(script, data, seconds, parse.GetValue(check), cancellationToken);
        });
        return command;
    }
}
