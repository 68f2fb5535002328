using System.Xml.Linq;
using Streamboot.Testing;

namespace Streamboot.Architecture.Tests;

/// <summary>
/// The dependency rule of docs/architecture.md, read from the project files:
/// protocol code knows bytes and the block-device interface, never the
/// database or the boot policy; storage knows no protocol; only the server
/// (and the command line that starts it) composes everything.
/// </summary>
public class LayeringTests
{
    // What each layer may reference. A new project must be given its layer here.
    private static readonly Dictionary<string, string[]> s_allowed = new(StringComparer.Ordinal)
    {
        ["Streamboot.Common"] = [],
        ["Streamboot.Storage"] = ["Streamboot.Common"],
        ["Streamboot.Data"] = ["Streamboot.Common"],
        ["Streamboot.Protocols"] = ["Streamboot.Common", "Streamboot.Storage"],
        // TFTP serves files, not block devices: it does not even need storage.
        ["Streamboot.Protocols.Tftp"] = ["Streamboot.Common"],
        // Nor does DHCP: datagrams, leases and boot-file names.
        ["Streamboot.Protocols.Dhcp"] = ["Streamboot.Common"],
        // iSCSI serves block devices like NBD: PDUs, SCSI and IBlockDevice; what a target name means is the server's.
        ["Streamboot.Protocols.Iscsi"] = ["Streamboot.Common", "Streamboot.Storage"],
        // VMs know QEMU, QMP and files; what a VM is, and its row, is Admin's.
        ["Streamboot.Vms"] = ["Streamboot.Common"],
        ["Streamboot.Admin"] = ["Streamboot.Common", "Streamboot.Data", "Streamboot.Storage", "Streamboot.Vms"],
        // Boot decisions and session lifecycles: over the site (Admin registers
        // unknown machines), the database and storage; never a protocol.
        ["Streamboot.Sessions"] = ["Streamboot.Common", "Streamboot.Data", "Streamboot.Storage", "Streamboot.Admin"],
        // The web console is a front end over the Admin layer, like the command line and the API: never a protocol, never storage directly.
        ["Streamboot.WebConsole"] = ["Streamboot.Common", "Streamboot.Data", "Streamboot.Admin"],
        // The admin API's wire shapes: bodies, the operation resource, its JSON, status <-> error kind. No HTTP stack of its own.
        ["Streamboot.Api.Contracts"] = ["Streamboot.Common", "Streamboot.Admin"],
        // The Admin layer's areas over a server's API (the CLI's --server): HTTP and the contracts only, never the database, storage or the server.
        ["Streamboot.Remote"] = ["Streamboot.Common", "Streamboot.Admin", "Streamboot.Api.Contracts"],
        ["Streamboot.Server"] = ["*"],
        ["Streamboot.Cli"] = ["*"],
    };

    // Packages that belong to one layer only.
    private static readonly Dictionary<string, string[]> s_packageOwners = new(StringComparer.Ordinal)
    {
        ["Microsoft.EntityFrameworkCore"] = ["Streamboot.Data"],
        ["Npgsql"] = ["Streamboot.Data"],
        ["FluentMigrator"] = ["Streamboot.Data"],
        ["System.CommandLine"] = ["Streamboot.Cli"],
        ["Spectre.Console"] = ["Streamboot.Cli"],
        // Instruments are System.Diagnostics.Metrics (the BCL) in every layer; how they are exported is the server's.
        ["OpenTelemetry"] = ["Streamboot.Server"],
    };

    public static TheoryData<string> Projects()
    {
        var data = new TheoryData<string>();
        foreach (var project in Directory.GetFiles(Path.Combine(Repository.Root, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(project));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Each_project_references_only_the_layers_beneath_it(string project)
    {
        var layer = LayerOf(project);
        Assert.True(layer is not null, $"{project} has no layer in LayeringTests: decide what it may reference and add it");
        var allowed = s_allowed[layer];
        if (allowed is ["*"])
        {
            return;
        }

        foreach (var reference in References(project))
        {
            var referenced = LayerOf(reference);
            Assert.True(
                referenced is not null && allowed.Contains(referenced),
                $"{project} references {reference}, but the {layer} layer may only reference: {string.Join(", ", allowed)}");
        }
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Layer_specific_packages_stay_in_their_layer(string project)
    {
        var layer = LayerOf(project)!;
        foreach (var package in Packages(project))
        {
            foreach (var (prefix, owners) in s_packageOwners)
            {
                if (package.StartsWith(prefix, StringComparison.Ordinal))
                {
                    Assert.True(owners.Contains(layer), $"{project} uses {package}, which belongs to {string.Join(", ", owners)}");
                }
            }
        }
    }

    [Fact]
    public void The_rule_is_checked_against_real_project_files()
    {
        // Guards the guard: the scan finds the projects and their references.
        Assert.Contains("Streamboot.Data", References("Streamboot.Admin"));
        Assert.Contains("Npgsql.EntityFrameworkCore.PostgreSQL", Packages("Streamboot.Data"));
        Assert.True(Projects().Count >= 6);
    }

    [Fact]
    public void Every_project_is_in_the_solution_so_the_build_and_the_test_run_see_it()
    {
        var solution = File.ReadAllText(Path.Combine(Repository.Root, "Streamboot.slnx"));
        var projects = new[] { "src", "tests", "bench" }
            .Select(folder => Path.Combine(Repository.Root, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.GetFiles(folder, "*.csproj", SearchOption.AllDirectories))
            .Where(path => !path.Contains("/artifacts/", StringComparison.Ordinal))
            .Select(path => Path.GetRelativePath(Repository.Root, path));
        Assert.All(projects, project => Assert.Contains(project, solution, StringComparison.Ordinal));
    }

    private static string? LayerOf(string project) =>
        s_allowed.Keys.Where(k => project == k || project.StartsWith(k + ".", StringComparison.Ordinal)).MaxBy(k => k.Length);

    private static XDocument Load(string project) =>
        XDocument.Load(Directory.GetFiles(Path.Combine(Repository.Root, "src"), project + ".csproj", SearchOption.AllDirectories).Single());

    private static IEnumerable<string> References(string project) =>
        Load(project).Descendants("ProjectReference").Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/')));

    private static IEnumerable<string> Packages(string project) =>
        Load(project).Descendants("PackageReference").Select(e => e.Attribute("Include")!.Value);
}
