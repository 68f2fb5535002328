using System.Diagnostics;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Tests.Support;

namespace Streamboot.Sessions.Tests.Decisions;

/// <summary>
/// The decisions of the Secure Boot chain: which loader DHCP sends (the
/// device's setting, its collection's, the receiving collection's for an
/// unknown machine, iPXE when nothing says), what GRUB is refused (a SAN
/// boot, no kernel, with Secure Boot on a kernel shim would not trust:
/// checked against Debian's real signed kernel with its signature removed
/// by sbattach), and the refusals kept for <c>session list</c>. On SQLite
/// and PostgreSQL.
/// </summary>
public abstract class SecureBootDecisionTests : SessionSiteTests
{
    private const string Mac = "52:54:00:00:00:01";
    private string _kernel = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Assert.True((await new VDiskAdmin(Site).CreateAsync("gold", 16L << 20, format: "qcow2")).Ok);
        Assert.True((await new CollectionAdmin(Site).AddAsync("secure", new CollectionChanges(BootLoader: "secure-boot"))).Ok);
        Assert.True((await new DeviceAdmin(Site).AddAsync(Mac, new DeviceChanges(Name: "pc1", Collection: "secure"))).Ok);
        Assert.True((await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false)).Ok);
        var boot = Directory.CreateDirectory(Path.Combine(DataFolder, "vdisks", "gold", "boot")).FullName;
        _kernel = Path.Combine(boot, "vmlinuz");
        var debian = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault();
        Assert.True(debian is not null, "no /boot/vmlinuz-*: apt-get install linux-image-amd64 (test.sh installs it)");
        File.Copy(debian, _kernel);
    }

    [Fact]
    public async Task The_loader_is_the_devices_then_its_collections_then_the_receiving_collections_and_else_ipxe()
    {
        Assert.Equal(BootLoader.SecureBoot, await Layer.LoaderAsync(Mac));
        Assert.Equal(BootLoader.Ipxe, await Layer.LoaderAsync("52:54:00:aa:bb:cc"));   // "default" receives unknown machines and says nothing
        Assert.Equal(BootLoader.Ipxe, await Layer.LoaderAsync("not a mac"));

        Assert.True((await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(BootLoader: "ipxe"))).Ok);
        Assert.True((await new CollectionAdmin(Site).SetAsync("secure", new CollectionChanges(ReceivesUnknown: true))).Ok);
        await RestartAsync();   // a new server: nothing kept from before
        Assert.Equal(BootLoader.Ipxe, await Layer.LoaderAsync(Mac));
        Assert.Equal(BootLoader.SecureBoot, await Layer.LoaderAsync("52:54:00:aa:bb:cc"));
    }

    [Fact]
    public async Task With_secure_boot_on_grub_gets_a_trusted_kernel_and_an_unsigned_one_is_refused_and_kept()
    {
        var trusted = Assert.IsType<BootVDisk>(await Layer.DecideAsync(Grub(secureBoot: true)));
        Assert.Equal("gold/pc1", trusted.Target.Export);

        Sbattach("--remove", _kernel);
        var refused = Assert.IsType<BootRefused>(await Layer.DecideAsync(Grub(secureBoot: true)));
        Assert.Equal(BootRefusal.KernelNotTrusted, refused.Reason);
        Assert.Contains("it carries no signature", refused.Message, StringComparison.Ordinal);
        Assert.Equal(("pc1", "gold", 1), (refused.Device?.Name, refused.VDisk, refused.Version));
        // iPXE and GRUB without Secure Boot start any kernel.
        Assert.IsType<BootVDisk>(await Layer.DecideAsync(Grub(secureBoot: false)));
        Assert.IsType<BootVDisk>(await Layer.DecideAsync(new BootRequest(Mac, Lab)));

        var kept = Assert.Single(await new SiteQueries(Site).RefusedBootsAsync(includePast: false));
        Assert.Equal(("pc1", "gold", 1, BootLoader.SecureBoot, "kernel-not-trusted", Lab), (kept.Device, kept.VDisk, kept.Version, kept.Loader, kept.Reason, kept.RemoteAddress));
        Assert.Equal(refused.Message, kept.Message);

        // Asked again at once (the client retries): the same refusal is not written again.
        Assert.IsType<BootRefused>(await Layer.DecideAsync(Grub(secureBoot: true)));
        Assert.Equal(kept.RefusedAt, Assert.Single(await new SiteQueries(Site).RefusedBootsAsync(includePast: false)).RefusedAt);

        // Once a boot of the device starts, the refusal is history.
        var key = Assert.IsType<BootVDisk>(await Layer.DecideAsync(Grub(secureBoot: false))).Key;
        await using (await OpenAsync($"gold/pc1/{key}"))
        {
            Assert.Empty(await new SiteQueries(Site).RefusedBootsAsync(includePast: false));
            Assert.False(Assert.Single(await new SiteQueries(Site).RefusedBootsAsync(includePast: true)).Current);
        }
    }

    [Fact]
    public async Task Grub_is_refused_what_it_cannot_boot_with_what_to_do()
    {
        Assert.True((await new VDiskAdmin(Site).SetAsync("gold", new VDiskChanges(BootProtocol: "iscsi"))).Ok);
        var san = Assert.IsType<BootRefused>(await Layer.DecideAsync(Grub(secureBoot: true)));
        Assert.Equal(BootRefusal.LoaderCannotBoot, san.Reason);
        Assert.Contains("'streamboot device set pc1 --boot-loader ipxe'", san.Message, StringComparison.Ordinal);
        Assert.IsType<BootVDisk>(await Layer.DecideAsync(new BootRequest(Mac, Lab)));   // iPXE SAN-boots it

        Assert.True((await new VDiskAdmin(Site).SetAsync("gold", new VDiskChanges(BootProtocol: "auto"))).Ok);
        File.Delete(_kernel);
        var noKernel = Assert.IsType<BootRefused>(await Layer.DecideAsync(Grub(secureBoot: false)));
        Assert.Equal(BootRefusal.LoaderCannotBoot, noKernel.Reason);
        Assert.Contains("has no kernel", noKernel.Message, StringComparison.Ordinal);
    }

    private static BootRequest Grub(bool secureBoot) =>
        new(Mac, Lab, BuildArch: "x86_64", Platform: "efi") { Loader = BootLoader.SecureBoot, SecureBoot = secureBoot };

    private static void Sbattach(params string[] args)
    {
        var start = new ProcessStartInfo("sbattach") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("sbattach is not installed: apt-get install sbsigntool (test.sh installs it)", e);
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"sbattach {string.Join(' ', args)}: {errors}");
        }
    }
}

public sealed class SqliteSecureBootDecisionTests : SecureBootDecisionTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);
}

public sealed class PostgresSecureBootDecisionTests : SecureBootDecisionTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.PostgresAsync();
}
