namespace Streamboot.Testing;

/// <summary>
/// The installer ISO the VM tests boot (client/testimage/build-installer-iso.sh):
/// the host's Debian kernel and a busybox initramfs that prints the seed's
/// user, full name and host name and the VM's CPUs, memory and disk, installs
/// the test OS (client/testimage/build.sh) onto a blank disk big enough for
/// it, and powers off on the ACPI power button. Built once per run (the
/// VM tests and the web console's golden-image test boot it).
/// </summary>
public static class TestIso
{
    public const string Ready = "TESTISO ready";
    public const string Installed = "TESTISO installed:";

    /// <summary>The test OS's disk image size: a VM disk at least this big gets it installed.</summary>
    public const long InstallSize = 96L << 20;

    private static readonly Lazy<Task<string>> s_built = new(BuildAsync);

    public static Task<string> PathAsync() => s_built.Value;

    /// <summary>The test OS folder (vmlinuz, initrd.img, disk.img), built by client/testimage/build.sh.</summary>
    public static string TestOsFolder => System.IO.Path.Combine(Repository.Root, "artifacts", "testos");

    private static async Task<string> BuildAsync()
    {
        var os = await ProcessRunner.RunAsync(System.IO.Path.Combine(Repository.Root, "client", "testimage", "build.sh"), [TestOsFolder], timeout: TimeSpan.FromMinutes(10));
        Assert.True(os.ExitCode == 0, $"client/testimage/build.sh failed:\n{os}");
        var iso = System.IO.Path.Combine(Repository.Root, "artifacts", "testiso", "installer.iso");
        var built = await ProcessRunner.RunAsync(System.IO.Path.Combine(Repository.Root, "client", "testimage", "build-installer-iso.sh"), [TestOsFolder, iso], timeout: TimeSpan.FromMinutes(5));
        Assert.True(built.ExitCode == 0, $"client/testimage/build-installer-iso.sh failed:\n{built}");
        return iso;
    }
}
