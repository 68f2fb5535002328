using System.Text;
using System.Xml.Linq;
using Streamboot.Testing;
using Streamboot.Vms.Seeds;

namespace Streamboot.Vms.Tests.Seeds;

/// <summary>Seeds as their readers read them: cloud-init's own schema check, xorriso's view of the image, an XML parser.</summary>
public sealed class SeedTests : IDisposable
{
    private readonly TempFolder _folder = new("vm-seed");

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("debian12")]
    [InlineData("ubuntu24.04")]
    public async Task The_cloud_init_seed_is_valid_cloud_config_on_a_cidata_image(string version)
    {
        var install = new EasyInstall("Zoë \"Z\" O'Hara #2", "zoe", "pa$$ word", "lab-vm1");
        var seed = _folder.Combine("cidata.iso");
        await SeedImage.WriteAsync(seed, CloudInitSeed.VolumeId, CloudInitSeed.Files(install, Guid.NewGuid(), version));

        var files = await ExtractAsync(seed);
        var userData = File.ReadAllText(Path.Combine(files, "user-data"));
        var metaData = File.ReadAllText(Path.Combine(files, "meta-data"));

        // cloud-init itself (Debian's package) judges the document.
        var cloudInit = ProcessRunner.Find("cloud-init", "/usr/bin") ?? throw new InvalidOperationException("cloud-init is not installed: apt-get install cloud-init (test.sh installs it)");
        var schema = await ProcessRunner.RunAsync(cloudInit, ["schema", "--config-file", Path.Combine(files, "user-data")]);
        Assert.True(schema.ExitCode == 0 && schema.Stdout.Contains("Valid cloud-config", StringComparison.Ordinal), schema.ToString());

        Assert.StartsWith("#cloud-config\n", userData, StringComparison.Ordinal);
        Assert.Contains("hostname: \"lab-vm1\"", userData, StringComparison.Ordinal);
        Assert.Contains("- name: \"zoe\"", userData, StringComparison.Ordinal);
        Assert.Contains("gecos: \"Zoë \\\"Z\\\" O'Hara #2\"", userData, StringComparison.Ordinal);
        Assert.DoesNotContain("pa$$ word", userData, StringComparison.Ordinal);
        var hash = userData.Split('\n').Single(l => l.TrimStart().StartsWith("passwd:", StringComparison.Ordinal)).Split('"')[1];
        Assert.Equal(await PasswordHashTests.OpenSslAsync("pa$$ word", hash.Split('$')[2]), hash);
        Assert.Equal(version.StartsWith("ubuntu", StringComparison.Ordinal), userData.Contains("autoinstall:", StringComparison.Ordinal));
        Assert.Contains("local-hostname: \"lab-vm1\"", metaData, StringComparison.Ordinal);
        Assert.Contains("instance-id: \"iid-", metaData, StringComparison.Ordinal);

        // NoCloud finds the seed by its volume label; only its owner may read it.
        Assert.True(Streamboot.Vms.Media.Iso9660Image.TryCheck(seed, out var label, out _));
        Assert.Equal("cidata", label);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(seed));
    }

    [Fact]
    public async Task The_windows_answer_file_names_the_computer_owner_and_administrator()
    {
        var install = new EasyInstall("Dave & <Co>", "Dave", "Secr3t!", "WIN-LAB1");
        var seed = _folder.Combine("autounattend.iso");
        await SeedImage.WriteAsync(seed, WindowsUnattend.VolumeId, WindowsUnattend.Files(install));
        var files = await ExtractAsync(seed);
        var xml = XDocument.Load(Path.Combine(files, "autounattend.xml"));
        XNamespace ns = "urn:schemas-microsoft-com:unattend";

        Assert.Equal("WIN-LAB1", xml.Descendants(ns + "ComputerName").Single().Value);
        Assert.All(xml.Descendants(ns + "RegisteredOwner"), e => Assert.Equal("Dave & <Co>", e.Value));
        var account = xml.Descendants(ns + "LocalAccount").Single();
        Assert.Equal("Dave", account.Element(ns + "Name")!.Value);
        Assert.Equal("Administrators", account.Element(ns + "Group")!.Value);
        var password = account.Element(ns + "Password")!;
        Assert.Equal("false", password.Element(ns + "PlainText")!.Value);
        Assert.Equal("Secr3t!Password", Encoding.Unicode.GetString(Convert.FromBase64String(password.Element(ns + "Value")!.Value)));
        Assert.DoesNotContain("Secr3t!", File.ReadAllText(Path.Combine(files, "autounattend.xml")), StringComparison.Ordinal);
        Assert.Equal(["windowsPE", "specialize", "oobeSystem"], xml.Root!.Elements(ns + "settings").Select(e => e.Attribute("pass")!.Value));
    }

    [Fact]
    public async Task A_windows_seed_gives_setup_the_product_key_and_the_edition_to_install()
    {
        var install = new EasyInstall("Eve", "eve", "pw", "WIN-2") { ProductKey = "VK7JG-NPHTM-C97JM-9MPGT-3V66T", Edition = "Windows 11 Pro" };
        var seed = _folder.Combine("keyed.iso");
        await SeedImage.WriteAsync(seed, WindowsUnattend.VolumeId, WindowsUnattend.Files(install));
        var xml = XDocument.Load(Path.Combine(await ExtractAsync(seed), "autounattend.xml"));
        XNamespace ns = "urn:schemas-microsoft-com:unattend";

        var setup = xml.Root!.Elements(ns + "settings").Single(e => e.Attribute("pass")!.Value == "windowsPE").Element(ns + "component")!;
        Assert.Equal("Microsoft-Windows-Setup", setup.Attribute("name")!.Value);
        var key = setup.Element(ns + "UserData")!.Element(ns + "ProductKey")!;
        Assert.Equal("VK7JG-NPHTM-C97JM-9MPGT-3V66T", key.Element(ns + "Key")!.Value);
        Assert.Equal("OnError", key.Element(ns + "WillShowUI")!.Value);
        var meta = setup.Element(ns + "ImageInstall")!.Element(ns + "OSImage")!.Element(ns + "InstallFrom")!.Element(ns + "MetaData")!;
        Assert.Equal("/IMAGE/NAME", meta.Element(ns + "Key")!.Value);
        Assert.Equal("Windows 11 Pro", meta.Element(ns + "Value")!.Value);
        Assert.Equal("add", meta.Attribute(XNamespace.Get("http://schemas.microsoft.com/WMIConfig/2002/State") + "action")!.Value);
    }

    [Fact]
    public void The_password_never_shows_in_what_is_printed_of_an_easy_install()
    {
        var install = new EasyInstall("A", "a", "hunter2", "h");
        Assert.DoesNotContain("hunter2", install.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The image's files as xorriso (not our code) reads them.</summary>
    private async Task<string> ExtractAsync(string iso)
    {
        var target = _folder.Combine("extracted-" + Path.GetFileNameWithoutExtension(iso));
        var xorriso = ProcessRunner.Find("xorriso", "/usr/bin") ?? throw new InvalidOperationException("xorriso is not installed: apt-get install xorriso");
        var result = await ProcessRunner.RunAsync(xorriso, ["-osirrox", "on", "-indev", iso, "-extract", "/", target]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return target;
    }
}
