using System.CommandLine;
using System.Globalization;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Rebalancing;
using Streamboot.Admin.Views;
using Streamboot.Cli.Output;
using Streamboot.Data;

namespace Streamboot.Cli.Commands;

/// <summary>What the site is doing: sessions, servers, the audit log, the database.</summary>
public static class SiteCommands
{
    public static Command Session()
    {
        var all = new Option<bool>("--all") { Description = "Include ended sessions, and refused boots the devices have got past since" };
        var refused = new Option<bool>("--refused") { Description = "Only the devices' refused boots: what each machine's screen was told and why (--json: those alone)" };
        var list = new Command("list", "List streaming sessions (live ones unless --all), then the devices whose last boot was refused") { all, refused };
        list.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            if (parse.GetValue(refused))
            {
                var refusedOnly = await site.Queries.RefusedBootsAsync(parse.GetValue(all), ct);
                return output.Result(refusedOnly, r => RefusedBoots(output, r, "No refused boots."));
            }

            var sessions = await site.Queries.SessionsAsync(parse.GetValue(all), ct);
            if (output.Json)
            {
                // --json stays the list of sessions and asks nothing more; --refused --json has the refusals.
                return output.Result(sessions, list => SessionsThenRefusals(output, list, [], parse.GetValue(all)));
            }

            var refusals = await site.Queries.RefusedBootsAsync(parse.GetValue(all), ct);
            return output.Result(sessions, list => output.Result(refusals, refusedBoots => SessionsThenRefusals(output, list, refusedBoots, parse.GetValue(all))));
        }));
        return new Command("session", "Streaming sessions: who streams what, from which server") { list, KeyVerb() };
    }

    private static int SessionsThenRefusals(CliOutput output, IReadOnlyList<SessionView> sessions, IReadOnlyList<RefusedBootView> refusals, bool all)
    {
        var shown = output.List(
            sessions,
            [
                new("Id", ColumnFit.Whole), new("Device", ColumnFit.Whole), new("vDisk", ColumnFit.Whole), new("Version", ColumnFit.Whole),
                new("Server", ColumnFit.Optional), new("Protocol", ColumnFit.Optional), "Since",
                new("Boot", ColumnFit.Optional), new("Read", ColumnFit.Optional), new("Written", ColumnFit.Optional), new("Write cache", ColumnFit.Optional), "Ended",
            ],
            s =>
            [
                s.Id.ToString(CultureInfo.InvariantCulture),
                s.Device ?? "(read-only)",
                s.VDisk,
                s.Version.ToString(CultureInfo.InvariantCulture),
                s.Server ?? "",
                s.Protocol,
                CliOutput.Time(s.StartedAt),
                s.BootSeconds is { } boot ? boot.ToString("0.0 s", CultureInfo.InvariantCulture) : "",
                ByteSize.Format(s.BytesRead),
                ByteSize.Format(s.BytesWritten),
                $"{KebabCase.Of(s.WriteCacheMode)} {ByteSize.Format(s.WriteCacheBytes)}",
                s.EndedAt is { } ended ? CliOutput.Time(ended) : "",
            ],
            all ? "No sessions recorded." : "No live sessions.");
        if (output.Json || refusals.Count == 0)
        {
            // --json stays the list of sessions; --refused --json has the refusals.
            return shown;
        }

        System.Console.Out.WriteLine();
        System.Console.Out.WriteLine(all ? "Refused boots (each device's last):" : "Refused boots (devices whose last boot was refused and that have not started since):");
        return RefusedBoots(output, refusals, "");
    }

    private static int RefusedBoots(CliOutput output, IReadOnlyList<RefusedBootView> refusals, string empty) => output.List(
        refusals,
        [
            new("Device", ColumnFit.Whole), new("vDisk", ColumnFit.Optional), new("Loader", ColumnFit.Optional), new("Server", ColumnFit.Optional),
            new("Refused", ColumnFit.Whole), new("Reason", ColumnFit.Whole), "Why",
        ],
        r =>
        [
            r.Device,
            r.VDisk is null ? "" : r.Version is { } version ? $"{r.VDisk} v{version.ToString(CultureInfo.InvariantCulture)}" : r.VDisk,
            KebabCase.Of(r.Loader),
            r.Server ?? "",
            CliOutput.Time(r.RefusedAt),
            r.Reason,
            r.Message,
        ],
        empty);

    /// <summary>
    /// <c>session key DEVICE</c>: an admin's boot of a device, issued as its
    /// boot script would issue it, for a client that is not a PXE machine
    /// (qemu-img, nbdcopy, a VM started by hand): its first open starts the
    /// boot, which ends the device's previous one.
    /// </summary>
    private static Command KeyVerb()
    {
        var device = new Argument<string>("DEVICE") { Description = "Device name or MAC address" };
        var vdisk = new Option<string?>("--vdisk") { Description = "Which of its vDisks, when it has several", HelpName = "VDISK" };
        var verb = new Command("key", "Issue a new boot of a device and print its disk's view name VDISK/DEVICE/KEY (its first open starts the boot and ends the device's previous one)") { device, vdisk };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Boots.IssueAsync(parse.GetValue(device)!, parse.GetValue(vdisk), ct), boot =>
            {
                if (output.Json)
                {
                    return output.Item(boot, []);
                }

                System.Console.Out.WriteLine(boot.View);
                return ExitCodes.Ok;
            })));
        return verb;
    }

    public static Command Dhcp()
    {
        var leases = new Command("leases", "List the addresses DHCP handed out in full mode (like dnsmasq's lease file)");
        leases.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Queries.LeasesAsync(ct), leases => output.List(
                leases,
                [new("Address", ColumnFit.Whole), new("MAC", ColumnFit.Whole), new("Device", ColumnFit.Whole), "State", "Expires"],
                l => [l.Address, l.Mac, l.Device ?? "(unknown)", l.State, CliOutput.Time(l.ExpiresAt)],
                "No leases. DHCP hands out addresses only in full mode: streamboot serve --dhcp full --dhcp-interface NAME --dhcp-range FIRST-LAST"))));
        return new Command("dhcp", "DHCP of this site") { leases };
    }

    public static Command Server()
    {
        var list = new Command("list", "List the servers of this site: state (running, stopped, missing heartbeats), weight, whether they take new boots, and their load");
        list.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Servers.ListAsync(ct), servers => output.List(
                servers,
                [
                    new("Name", ColumnFit.Whole), new("State", ColumnFit.Whole), new("New boots", ColumnFit.Whole), "Addresses", new("HTTP", ColumnFit.Optional), new("NBD", ColumnFit.Optional),
                    new("Weight", ColumnFit.Whole), new("Sessions", ColumnFit.Whole), new("Booting", ColumnFit.Whole), new("Bytes/s", ColumnFit.Optional),
                    new("Version", ColumnFit.Optional), new("Started", ColumnFit.Optional), "Last heartbeat",
                ],
                s =>
                [
                    s.Name, StateText(s), s.Enabled ? "yes" : "drained", s.Addresses ?? s.Address ?? "", s.HttpPort.ToString(CultureInfo.InvariantCulture), s.NbdPort.ToString(CultureInfo.InvariantCulture),
                    s.Weight.ToString(CultureInfo.InvariantCulture), s.Sessions.ToString(CultureInfo.InvariantCulture),
                    s.MaxBooting > 0 ? $"{s.Booting}/{s.MaxBooting}" : s.Booting.ToString(CultureInfo.InvariantCulture),
                    ByteSize.Format(s.BytesPerSecond), s.Version ?? "", CliOutput.Time(s.StartedAt), CliOutput.Time(s.LastHeartbeatAt),
                ],
                "No server has run on this database yet. Start one with: streamboot serve"))));

        var drainName = new Argument<string>("NAME") { Description = "Server name (server list)" };
        var move = new Option<bool>("--move") { Description = "Also move its live clients to the other servers (not booting ones, nor server-RAM caches, which stay until they end)" };
        var drain = new Command("drain", "Send no new boots to a server; the clients it streams stay until they end (unless --move)") { drainName, move };
        drain.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            if (!parse.GetValue(move))
            {
                return output.Result(await site.Servers.DrainAsync(parse.GetValue(drainName)!, ct), n => Say(output, n, $"Drained server {n}: new boots go to the others"));
            }

            var result = await site.Servers.DrainAndMoveAsync(parse.GetValue(drainName)!, ct);
            return output.Result(result, plan => PrintPlan(output, plan, dryRun: false));
        }));

        var dryRun = new Option<bool>("--dry-run") { Description = "Only show what would move" };
        var rebalance = new Command("rebalance", "Move live clients off servers holding more than their share by weight (newest first; never a booting client, nor a server-RAM cache; nothing while more than 20 % of clients boot)") { dryRun };
        rebalance.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Servers.RebalanceAsync(parse.GetValue(dryRun), ct), plan => PrintPlan(output, plan, parse.GetValue(dryRun)))));
        var enable = NameVerb("enable", "Let a drained server take new boots again", (site, name, ct) => site.Servers.EnableAsync(name, ct), "Server {0} takes new boots again");

        var setName = new Argument<string>("NAME") { Description = "Server name (server list)" };
        var weight = new Option<int?>("--weight") { Description = $"Its power rating, 1-{ServerAdmin.MaxWeight}: new boots go to the server with the lowest load per weight", HelpName = "N" };
        var set = new Command("set", "Change a server's farm settings") { setName, weight };
        set.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
        {
            if (parse.GetValue(weight) is not { } w)
            {
                return CliOutput.Usage("nothing to change; give --weight N");
            }

            return output.Result(await site.Servers.SetWeightAsync(parse.GetValue(setName)!, w, ct), n => Say(output, n, $"Server {n} has weight {w}"));
        }));

        var removeName = new Argument<string>("NAME") { Description = "Server name (server list)" };
        var remove = new Command("remove", "Remove a server that is stopped or gone from the list (a running one is refused)") { removeName };
        remove.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Servers.RemoveAsync(parse.GetValue(removeName)!, ct), n => Say(output, n, $"Removed server {n}"))));
        return new Command("server", "Servers of this site (a farm: several on one PostgreSQL database)") { list, drain, enable, set, remove, rebalance };
    }

    private static int PrintPlan(CliOutput output, RebalancePlan plan, bool dryRun)
    {
        if (output.Json)
        {
            return output.Item(new { dryRun, plan.Skipped, plan.Shares, plan.Moves }, []);
        }

        foreach (var share in plan.Shares)
        {
            System.Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{share.Server}: {share.Sessions} session(s), fair share {share.Share:0.#}, {share.Booting} booting, {share.Unmovable} that cannot move"));
        }

        if (plan.Skipped is not null)
        {
            System.Console.Out.WriteLine($"Nothing moves: {plan.Skipped}");
            return ExitCodes.Ok;
        }

        if (plan.Moves.Count == 0)
        {
            System.Console.Out.WriteLine("Nothing to move: every server is within its share.");
            return ExitCodes.Ok;
        }

        foreach (var m in plan.Moves)
        {
            System.Console.Out.WriteLine($"{(dryRun ? "Would move" : "Moving")} {m.Device} from {m.Server} to another server");
        }

        if (!dryRun)
        {
            System.Console.Out.WriteLine("Each server moves them at its next maintenance tick (within seconds); 'streamboot session list' shows where they went.");
        }

        return ExitCodes.Ok;
    }

    private static Command NameVerb(string verb, string description, Func<ISiteAdmin, string, CancellationToken, Task<AdminResult<string>>> act, string done)
    {
        var name = new Argument<string>("NAME") { Description = "Server name (server list)" };
        var command = new Command(verb, description) { name };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await act(site, parse.GetValue(name)!, ct), n => Say(output, n, string.Format(CultureInfo.InvariantCulture, done, n)))));
        return command;
    }

    private static int Say(CliOutput output, string name, string message)
    {
        if (output.Json)
        {
            return output.Item(new { server = name }, []);
        }

        System.Console.Out.WriteLine(message);
        return ExitCodes.Ok;
    }

    private static string StateText(ServerView s) => s.State switch
    {
        ServerState.Stopped => $"stopped {CliOutput.Time(s.StoppedAt ?? s.LastHeartbeatAt)}",
        ServerState.MissingHeartbeats => "missing heartbeats",
        _ => "running",
    };

    public static Command Audit()
    {
        var limit = new Option<int>("--limit") { Description = "How many of the newest entries", DefaultValueFactory = _ => 50, HelpName = "N" };
        var list = new Command("list", "Show the newest changes admins made") { limit };
        list.SetAction((parse, ct) =>
        {
            var n = parse.GetValue(limit);
            return n < 1
                ? Task.FromResult(CliOutput.Usage($"--limit {n}: give a positive number"))
                : CliContext.RunAsync(parse, ct, async (site, output) =>
                    output.Result(await site.Queries.AuditAsync(n, ct), entries => output.List(
                        entries,
                        ["When", "Who", "What", "Target", "Details"],
                        a => [CliOutput.Time(a.At), a.Actor, a.Action, a.Target, a.DetailsText],
                        "No changes recorded yet.")));
        });
        return new Command("audit", "The audit log: every change made by an admin") { list };
    }

    public static Command Db()
    {
        var status = new Command("status", "Show which database is in use and its schema version; makes the site's database, or migrates it, when needed");
        status.SetAction((parse, ct) => CliContext.RunLocalAsync(parse, ct, "db status", "it opens the site database directly; 'streamboot site info' shows a remote site's database and schema version", SiteUse.CreateIfMissing, async (_, site, output) =>
        {
            var version = await site.Database.SchemaVersionAsync(ct);
            var info = new { database = site.Database.Location.Describe(), provider = KebabCase.Of(site.Database.Location.Provider), schemaVersion = version, dataFolder = site.DataFolder };
            return output.Item(info, [("Database", info.database), ("Schema version", version.ToString(CultureInfo.InvariantCulture)), ("Data folder", site.DataFolder)]);
        }));
        return new Command("db", "The site database") { status };
    }
}
