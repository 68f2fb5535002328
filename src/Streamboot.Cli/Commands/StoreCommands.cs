using System.CommandLine;
using System.Globalization;
using Streamboot.Admin.Views;
using Streamboot.Cli.Output;
using Streamboot.Data;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>streamboot site info|set</c>: the site and how it stores its vDisks
/// (shared or replicated); <c>streamboot vdisk replicas NAME</c>: each
/// version's hash and every server's copy of it.
/// </summary>
public static class StoreCommands
{
    public static Command Site()
    {
        var info = new Command("info", "Show the site: database, data folder, and how vDisks are stored (shared or replicated)");
        info.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) => output.Result(await site.Store.InfoAsync(ct), v => PrintInfo(output, v))));

        var store = new Option<string>("--store")
        {
            Description = "shared: one folder every server mounts (NFS, CephFS...); replicated: each server's own data folder, versions copied between servers and verified by SHA-256. Going replicated hashes the versions that have no hash yet, from this data folder",
            HelpName = "KIND",
            Required = true,
        };
        store.CompletionSources.Add("shared", "replicated");
        var set = new Command("set", "Change site-wide settings") { store };
        set.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Store.SetStoreAsync(parse.GetValue(store)!, ct), v => PrintInfo(output, v))));
        return new Command("site", "The site as a whole") { info, set };
    }

    public static Command ReplicasVerb()
    {
        var name = new Argument<string>("VDISK") { Description = "vDisk name" };
        var verb = new Command("replicas", "Show each version's content hash and, in a replicated store, every server's copy: verified, copying, corrupt or missing") { name };
        verb.SetAction((parse, ct) => CliContext.RunAsync(parse, ct, async (site, output) =>
            output.Result(await site.Store.ReplicasAsync(parse.GetValue(name)!, ct), v => PrintReplicas(output, v))));
        return verb;
    }

    private static int PrintInfo(CliOutput output, SiteInfoView info) =>
        output.Item(info,
        [
            ("Store", KebabCase.Of(info.Store) + (info.StoreChangedAt is { } at ? $" (since {CliOutput.Time(at)})" : "")),
            ("Database", info.Database),
            ("Data folder", info.DataFolder),
            ("Schema version", info.SchemaVersion.ToString(CultureInfo.InvariantCulture)),
            ("vDisks", info.VDisks.ToString(CultureInfo.InvariantCulture)),
            ("Frozen versions", info.UnhashedVersions == 0
                ? info.FrozenVersions.ToString(CultureInfo.InvariantCulture)
                : $"{info.FrozenVersions} ({info.UnhashedVersions} without a content hash)"),
        ]);

    private static int PrintReplicas(CliOutput output, VDiskReplicasView view)
    {
        if (output.Json)
        {
            return output.Item(view, []);
        }

        var rows = view.Versions.SelectMany(v => v.Replicas.Count == 0
            ? [(v, (ReplicaView?)null)]
            : v.Replicas.Select(r => (v, (ReplicaView?)r))).ToList();
        return output.List(
            rows,
            [new("Version", ColumnFit.Whole), "Stage", new("SHA-256", ColumnFit.Whole), new("Server", ColumnFit.Whole), new("Copy", ColumnFit.Whole), new("Checked", ColumnFit.Optional), new("Note", ColumnFit.Optional)],
            row =>
            [
                row.v.Number.ToString(CultureInfo.InvariantCulture),
                KebabCase.Of(row.v.Stage),
                row.v.ContentHash is { } hash ? hash[..12] : row.v.Frozen ? "(not hashed)" : "(changing)",
                row.Item2?.Server ?? (view.Store == Data.Model.StoreKind.Shared ? "(shared store)" : ""),
                row.Item2 is { } r ? KebabCase.Of(r.State) + (r.HashSeen is { } seen && seen != row.v.ContentHash ? $" ({seen[..12]})" : "") : "",
                row.Item2?.CheckedAt is { } at ? CliOutput.Time(at) : "",
                row.Item2?.Message ?? "",
            ],
            $"vDisk '{view.VDisk}' has no versions.");
    }
}
