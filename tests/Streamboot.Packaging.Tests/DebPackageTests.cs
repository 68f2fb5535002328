using System.Text;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Packaging.Tests;

/// <summary>What is in the .deb, read with Debian's own tools, before anything is installed.</summary>
[Collection(DebPackagesCollection.Name)]
public sealed partial class DebPackageTests(DebPackages packages) : IDisposable
{
    private readonly TempFolder _extracted = new("streamboot-deb-x");

    public void Dispose() => _extracted.Dispose();

    [Fact]
    public async Task Lintian_finds_no_error_and_no_warning()
    {
        var lintian = Tools.Require("lintian", "lintian");
        // The default maintainer is the commits' own address (dev@streamboot.local),
        // which lintian rightly calls bogus; a release sets DEBFULLNAME and DEBEMAIL.
        var result = await ProcessRunner.RunAsync(
            lintian,
            ["--fail-on", "error,warning", "--suppress-tags", "bogus-mail-host,bogus-mail-host-in-debian-changelog", packages.First],
            timeout: TimeSpan.FromMinutes(10));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotMatch(@"(?m)^[EW]: ", result.Stdout);
    }

    [Fact]
    public async Task Its_version_is_the_product_version_the_program_prints()
    {
        var root = await ExtractAsync(packages.First);
        var printed = await ProcessRunner.RunAsync(Path.Combine(root, "usr/lib/streamboot/streamboot"), ["--version"]);
        Assert.True(printed.ExitCode == 0, printed.ToString());
        // 0.1.0+<commit>: the commit is build metadata, not part of the package's version.
        Assert.Equal(printed.Stdout.Trim().Split('+')[0], packages.FirstVersion);
        Assert.Matches(@"^\d+\.\d+\.\d+$", packages.FirstVersion);
    }

    [Fact]
    public async Task It_depends_on_the_package_of_every_library_its_binaries_load()
    {
        var root = await ExtractAsync(packages.First);
        var program = Path.Combine(root, "usr/lib/streamboot");
        var depends = DependedOn(await DebPackages.FieldAsync(packages.First, "Depends"));
        var ldd = Tools.Require("ldd", "libc-bin");
        var elves = Directory.GetFiles(program).Where(IsElf).ToList();
        Assert.Contains(Path.Combine(program, "libcoreclr.so"), elves);
        foreach (var elf in elves)
        {
            var linked = await ProcessRunner.RunAsync(ldd, [elf]);
            Assert.True(linked.ExitCode == 0, $"{elf}: {linked}");
            Assert.DoesNotContain("not found", linked.Stdout, StringComparison.Ordinal);
            foreach (Match library in LddPath().Matches(linked.Stdout))
            {
                var path = library.Groups[1].Value;
                if (path.StartsWith(program + "/", StringComparison.Ordinal))
                {
                    continue;
                }

                var owner = await OwnerPackageAsync(path);
                Assert.True(depends.Contains(owner), $"{Path.GetFileName(elf)} loads {path} of {owner}, which Depends does not name: {string.Join(", ", depends)}");
            }
        }

        // OpenSSL is loaded with dlopen, so ldd cannot see it: the shim names it.
        var shim = File.ReadAllBytes(Path.Combine(program, "libSystem.Security.Cryptography.Native.OpenSsl.so"));
        Assert.True(shim.AsSpan().IndexOf("libssl.so.3"u8) >= 0, "the OpenSSL shim no longer asks for libssl.so.3");
        Assert.Contains("libssl3", depends);
    }

    [Fact]
    public async Task It_holds_the_program_its_unit_and_its_settings_and_no_data()
    {
        var root = await ExtractAsync(packages.First);
        Assert.Equal("../lib/streamboot/streamboot", new FileInfo(Path.Combine(root, "usr/bin/streamboot")).LinkTarget);
        Assert.Equal(
            File.ReadAllText(Path.Combine(Repository.Root, "deploy/streamboot.service")),
            File.ReadAllText(Path.Combine(root, "lib/systemd/system/streamboot.service")));
        Assert.Equal(
            File.ReadAllText(Path.Combine(Repository.Root, "deploy/streamboot.sysusers.conf")),
            File.ReadAllText(Path.Combine(root, "usr/lib/sysusers.d/streamboot.conf")));
        Assert.Contains("\"Data\": \"/var/lib/streamboot\"", File.ReadAllText(Path.Combine(root, "etc/streamboot/appsettings.json")), StringComparison.Ordinal);
        Assert.Contains("complete -o default -F _streamboot_complete streamboot", File.ReadAllText(Path.Combine(root, "usr/share/bash-completion/completions/streamboot")), StringComparison.Ordinal);
        // Data is made by postinst and deleted by purge: a shipped /var/lib/streamboot would be reset by dpkg on every upgrade.
        Assert.False(Directory.Exists(Path.Combine(root, "var")));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "usr/lib/streamboot"), "*.xml"));
        Assert.False(File.Exists(Path.Combine(root, "usr/lib/streamboot/libcoreclrtraceptprovider.so")));

        var control = _extracted.Combine("control");
        var extract = await ProcessRunner.RunAsync(Tools.Require("dpkg-deb", "dpkg"), ["--control", packages.First, control]);
        Assert.True(extract.ExitCode == 0, extract.ToString());
        Assert.Equal("/etc/streamboot/appsettings.json\n", File.ReadAllText(Path.Combine(control, "conffiles")));

        var listing = await ProcessRunner.RunAsync(Tools.Require("dpkg-deb", "dpkg"), ["--contents", packages.First]);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        var lines = listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, line => Assert.Contains(" root/root ", line, StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("-rwxr-xr-x", StringComparison.Ordinal) && line.EndsWith("./usr/lib/streamboot/streamboot", StringComparison.Ordinal));
    }

    /// <summary>The package names Depends asks for, any of each alternative, versions left out.</summary>
    private static HashSet<string> DependedOn(string depends) =>
        depends.Split([',', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Split(' ', '(')[0])
            .ToHashSet(StringComparer.Ordinal);

    private static bool IsElf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var file = File.OpenRead(path);
        return file.Read(magic) == 4 && magic.SequenceEqual("\u007fELF"u8);
    }

    /// <summary>The package that owns a library; ldd may name it by its /usr path or its /lib path (merged /usr).</summary>
    private static async Task<string> OwnerPackageAsync(string path)
    {
        var dpkg = Tools.Require("dpkg", "dpkg");
        var real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        var candidates = new[] { path, real }
            .SelectMany(p => p.StartsWith("/usr/", StringComparison.Ordinal) ? new[] { p, p[4..] } : [p, "/usr" + p])
            .Distinct();
        var tried = new StringBuilder();
        foreach (var candidate in candidates)
        {
            var search = await ProcessRunner.RunAsync(dpkg, ["-S", candidate]);
            if (search.ExitCode == 0)
            {
                // "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6"
                return search.Stdout.Split(':')[0].Trim();
            }

            tried.Append(candidate).Append(' ');
        }

        throw new InvalidOperationException($"no package owns {tried}");
    }

    private async Task<string> ExtractAsync(string deb)
    {
        var root = _extracted.Combine("root");
        var result = await ProcessRunner.RunAsync(Tools.Require("dpkg-deb", "dpkg"), ["--extract", deb, root]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return root;
    }

    // "libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
    [GeneratedRegex(@"(?m)^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)")]
    private static partial Regex LddPath();
}
