using System.Globalization;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Packaging.Tests;

/// <summary>
/// The package's life on a real machine, as an admin lives it: dpkg -i, the
/// program on PATH, the service's user and files, the server running as that
/// user on the settings in /etc, an upgrade that keeps the site and an edited
/// conffile, remove that keeps them, purge that deletes them. This machine's
/// own dpkg database is used (the tests run as root); the test refuses to
/// start where Streamboot is already installed or has a site, and purges what
/// it installed whatever happens.
/// </summary>
[Collection(DebPackagesCollection.Name)]
public sealed class InstallTests(DebPackages packages)
{
    private const string Settings = "/etc/streamboot/appsettings.json";
    private const string Data = "/var/lib/streamboot";
    private const string Unit = "/lib/systemd/system/streamboot.service";
    private const string Enabled = "/etc/systemd/system/multi-user.target.wants/streamboot.service";
    private const string Masked = "/etc/systemd/system/streamboot.service";
    private const string Mac = "52:54:00:5b:de:b1";
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Installs_serves_as_its_own_user_upgrades_keeping_site_and_settings_and_deletes_them_only_on_purge()
    {
        await RefuseAMachineWithStreambootAsync();
        try
        {
            // Install.
            await DpkgAsync("--install", packages.First);
            Assert.Equal($"install ok installed {packages.FirstVersion}", await StatusAsync());
            await CheckInstalledAsync();
            var ca = await SiteMadeByTheServiceAsync(Ports.Free());

            // An admin's edit of the settings: the HTTP port.
            var port = Ports.Free();
            var original = File.ReadAllText(Settings);
            var edited = original.Replace("\"Data\": \"/var/lib/streamboot\"", $"\"Data\": \"/var/lib/streamboot\",\n    \"HttpPort\": {port}", StringComparison.Ordinal);
            Assert.NotEqual(original, edited);
            File.WriteAllText(Settings, edited);
            var devices = await StreambootJsonAsync("device", "list");

            // Upgrade: the site, its CA and the edited settings stay, and the server runs on them.
            await DpkgAsync("--install", packages.Upgrade);
            Assert.Equal($"install ok installed {packages.UpgradeVersion}", await StatusAsync());
            Assert.Equal(edited, File.ReadAllText(Settings));
            Assert.Equal("root:streamboot 640", await Tools.OwnerAndModeAsync(Settings));
            Assert.Equal("streamboot:streamboot 750", await Tools.OwnerAndModeAsync(Data));
            Assert.Equal(ca, File.ReadAllText(Path.Combine(Data, "tls", "ca-cert.pem")));
            Assert.Equal(devices, await StreambootJsonAsync("device", "list"));
            Assert.Equal(Unit, new FileInfo(Enabled).LinkTarget);
            await using (var server = InstalledServer.Start(Unit, LoopbackOnly(httpPort: null)))
            {
                // No HTTP port in the environment: the one in the kept settings.
                Assert.Contains("\"status\": \"healthy\"", await server.HealthAsync(port, s_startTimeout), StringComparison.Ordinal);
                Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(30)));
            }

            // Remove: the program goes, the site and the settings stay.
            await DpkgAsync("--remove", "streamboot");
            Assert.Equal($"deinstall ok config-files {packages.UpgradeVersion}", await StatusAsync());
            Assert.False(File.Exists("/usr/bin/streamboot") || Directory.Exists("/usr/lib/streamboot"));
            Assert.Equal(edited, File.ReadAllText(Settings));
            Assert.Equal(ca, File.ReadAllText(Path.Combine(Data, "tls", "ca-cert.pem")));
            Assert.True(File.Exists(Path.Combine(Data, "streamboot.db")));

            // Purge: the site, the settings and the unit's state go; the user stays, as Debian leaves system users.
            await DpkgAsync("--purge", "streamboot");
            Assert.Equal("", await StatusAsync());
            Assert.False(Directory.Exists(Data), $"purge left {Data}");
            Assert.False(Directory.Exists("/etc/streamboot"), "purge left /etc/streamboot");
            Assert.False(File.Exists(Enabled) || new FileInfo(Enabled).LinkTarget is not null, $"purge left {Enabled}");
            Assert.Null(new FileInfo(Masked).LinkTarget);
            var statoverride = await ProcessRunner.RunAsync(Tools.Require("dpkg-statoverride", "dpkg"), ["--list", Settings]);
            Assert.True(statoverride.ExitCode == 1, $"purge left the statoverride: {statoverride}");
            Assert.Contains(":/var/lib/streamboot:/usr/sbin/nologin", await GetentAsync("passwd", "streamboot"), StringComparison.Ordinal);
        }
        finally
        {
            // Whatever failed above: the machine as it was (but for the user).
            var purge = await ProcessRunner.RunAsync(Tools.Require("dpkg", "dpkg"), ["--purge", "streamboot"], Noninteractive);
            Assert.True(purge.ExitCode == 0, $"cleaning up: {purge}");
        }
    }

    /// <summary>What the first install must leave: the program on PATH, the user, the modes, a valid enabled unit, and the settings closed to other users.</summary>
    private async Task CheckInstalledAsync()
    {
        Assert.Equal("/usr/bin/streamboot", ProcessRunner.Find("streamboot"));
        var version = await ProcessRunner.RunAsync("streamboot", ["--version"]);
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.StartsWith(packages.FirstVersion + "+", version.Stdout.Trim(), StringComparison.Ordinal);

        var user = (await GetentAsync("passwd", "streamboot")).Split(':');
        Assert.Equal(["/var/lib/streamboot", "/usr/sbin/nologin"], user[5..7]);
        var group = (await GetentAsync("group", "streamboot")).Split(':');
        Assert.Equal(user[3], group[2]);
        Assert.True(int.Parse(user[2], CultureInfo.InvariantCulture) < 1000, $"streamboot is not a system user: {string.Join(':', user)}");

        Assert.Equal("streamboot:streamboot 750", await Tools.OwnerAndModeAsync(Data));
        Assert.Equal("root:streamboot 640", await Tools.OwnerAndModeAsync(Settings));
        Assert.Equal("root:root 755", await Tools.OwnerAndModeAsync("/usr/lib/streamboot/streamboot"));
        Assert.Equal("root:root 644", await Tools.OwnerAndModeAsync(Unit));

        var verify = await ProcessRunner.RunAsync(Tools.Require("systemd-analyze", "systemd"), ["verify", Unit]);
        Assert.True(verify.ExitCode == 0 && verify.Stderr.Trim().Length == 0, verify.ToString());
        // Enabled by deb-systemd-helper whether or not systemd runs here.
        Assert.Equal(Unit, new FileInfo(Enabled).LinkTarget);

        // Another user runs the program, but cannot read the settings (a Db may hold a password): one clear line.
        var nobodyVersion = await Tools.AsUserAsync("nobody", "nogroup", "/nonexistent", "streamboot", "--version");
        Assert.True(nobodyVersion.ExitCode == 0, nobodyVersion.ToString());
        var nobodyList = await Tools.AsUserAsync("nobody", "nogroup", "/nonexistent", "streamboot", "device", "list");
        Assert.True(nobodyList.ExitCode == 1, nobodyList.ToString());
        Assert.Contains("cannot read the settings", nobodyList.Stderr, StringComparison.Ordinal);
        Assert.Contains(Settings, nobodyList.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected error", nobodyList.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// The admin verbs as streamboot write the site in /var/lib/streamboot
    /// (the settings' Data: without it that user's default would be under its
    /// home's .local/share), then the server runs on it as its unit says and
    /// makes the site's CA there. Returns the CA.
    /// </summary>
    private async Task<string> SiteMadeByTheServiceAsync(int httpPort)
    {
        await StreambootAsync("collection", "add", "lab", "--pattern", "LAB-###");
        await StreambootAsync("device", "add", Mac, "--collection", "lab");
        Assert.Equal("streamboot:streamboot 640", await Tools.OwnerAndModeAsync(Path.Combine(Data, "streamboot.db")));
        Assert.False(Directory.Exists(Path.Combine(Data, ".local")));

        var environment = LoopbackOnly(httpPort);
        await using var server = InstalledServer.Start(Unit, environment);
        var health = JsonDocument.Parse(await server.HealthAsync(httpPort, s_startTimeout)).RootElement;
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal(packages.FirstVersion, health.GetProperty("version").GetString());

        // The packaged settings turn HTTPS on (here on a free port), with the certificate the site's CA signed.
        Assert.Contains("\"HttpsPort\": 8443", File.ReadAllText(Settings), StringComparison.Ordinal);
        var https = await ProcessRunner.RunAsync("curl", ["-sS", "--cacert", Path.Combine(Data, "tls", "ca-cert.pem"), $"https://localhost:{environment["STREAMBOOT_HTTPS_PORT"]}/healthz"]);
        Assert.True(https.ExitCode == 0 && https.Stdout.Contains("healthy", StringComparison.Ordinal), https.ToString());
        var device = Assert.Single(JsonDocument.Parse(await StreambootJsonAsync("device", "list")).RootElement.EnumerateArray());
        Assert.Equal(("LAB-001", Mac), (device.GetProperty("name").GetString(), device.GetProperty("mac").GetString()));
        Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"data {Data}", server.Output, StringComparison.Ordinal);

        var ca = Path.Combine(Data, "tls", "ca-cert.pem");
        Assert.StartsWith("streamboot:streamboot ", await Tools.OwnerAndModeAsync(ca), StringComparison.Ordinal);
        return File.ReadAllText(ca);
    }

    /// <summary>Environment over the unit's: every port on loopback and free, TFTP and iSCSI off (69 and 3260 are this machine's).</summary>
    private static Dictionary<string, string> LoopbackOnly(int? httpPort)
    {
        var environment = new Dictionary<string, string>
        {
            ["STREAMBOOT_BIND"] = "127.0.0.1",
            ["STREAMBOOT_NBD_PORT"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["STREAMBOOT_TFTP_PORT"] = "0",
            ["STREAMBOOT_ISCSI_PORT"] = "0",
            ["STREAMBOOT_DHCP"] = "off",
            // The packaged settings' 8443 may be taken here: a free one, still on (0 would turn it off).
            ["STREAMBOOT_HTTPS_PORT"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
        };
        if (httpPort is { } port)
        {
            environment["STREAMBOOT_HTTP_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        }

        return environment;
    }

    private static async Task RefuseAMachineWithStreambootAsync()
    {
        var status = await StatusAsync();
        Assert.True(status.Length == 0, $"the streamboot package is here ({status}): this test installs and purges its own, which deletes {Data}. If it is a leftover of this test: dpkg --purge streamboot");
        foreach (var folder in new[] { Data, "/etc/streamboot" })
        {
            Assert.False(Directory.Exists(folder), $"{folder} exists: this test installs the package and purges it, which deletes it. Move it away first");
        }
    }

    /// <summary>dpkg's status and version of streamboot, or "" when dpkg knows no such package.</summary>
    private static async Task<string> StatusAsync()
    {
        var query = await ProcessRunner.RunAsync(Tools.Require("dpkg-query", "dpkg"), ["--show", "--showformat", "${Status} ${Version}", "streamboot"]);
        return query.ExitCode == 0 && !query.Stdout.StartsWith("unknown ok not-installed", StringComparison.Ordinal) ? query.Stdout.Trim() : "";
    }

    private static async Task DpkgAsync(params string[] arguments)
    {
        var dpkg = await ProcessRunner.RunAsync(Tools.Require("dpkg", "dpkg"), arguments, Noninteractive, timeout: TimeSpan.FromMinutes(5));
        Assert.True(dpkg.ExitCode == 0, $"dpkg {string.Join(' ', arguments)}: {dpkg}");
    }

    private static Dictionary<string, string?> Noninteractive => new() { ["DEBIAN_FRONTEND"] = "noninteractive" };

    private static async Task<string> GetentAsync(string database, string key)
    {
        var entry = await ProcessRunner.RunAsync(Tools.Require("getent", "libc-bin"), [database, key]);
        Assert.True(entry.ExitCode == 0, $"getent {database} {key}: {entry}");
        return entry.Stdout.Trim();
    }

    /// <summary>The installed program as the service's user, as README says to run admin verbs.</summary>
    private static async Task StreambootAsync(params string[] arguments)
    {
        var result = await Tools.AsUserAsync("streamboot", "streamboot", Data, "streamboot", arguments);
        Assert.True(result.ExitCode == 0, $"streamboot {string.Join(' ', arguments)}: {result}");
    }

    private static async Task<string> StreambootJsonAsync(params string[] arguments)
    {
        var result = await Tools.AsUserAsync("streamboot", "streamboot", Data, "streamboot", [.. arguments, "--json"]);
        Assert.True(result.ExitCode == 0, $"streamboot {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }
}
