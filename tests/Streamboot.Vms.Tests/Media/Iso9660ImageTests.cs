using Streamboot.Testing;
using Streamboot.Vms.Media;

namespace Streamboot.Vms.Tests.Media;

public sealed class Iso9660ImageTests : IDisposable
{
    private readonly TempFolder _folder = new("vm-iso");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task An_image_xorriso_made_is_recognised_with_its_volume_label_whatever_its_name()
    {
        Directory.CreateDirectory(_folder.Combine("tree"));
        File.WriteAllText(_folder.Combine("tree", "hello.txt"), "hi");
        var iso = _folder.Combine("disc.bin");
        var xorriso = ProcessRunner.Find("xorriso", "/usr/bin") ?? throw new InvalidOperationException("xorriso is not installed: apt-get install xorriso");
        var made = await ProcessRunner.RunAsync(xorriso, ["-as", "mkisofs", "-quiet", "-o", iso, "-V", "DEBIAN_12_AMD64", "-J", "-R", _folder.Combine("tree")]);
        Assert.True(made.ExitCode == 0, made.ToString());

        Assert.True(Iso9660Image.TryCheck(iso, out var label, out var error), error);
        Assert.Equal("DEBIAN_12_AMD64", label);
    }

    [Fact]
    public void Files_that_are_not_iso_images_are_refused_with_the_reason()
    {
        var text = _folder.Combine("notes.iso");
        File.WriteAllText(text, new string('x', 100_000));
        var empty = _folder.Combine("empty.iso");
        File.WriteAllBytes(empty, []);
        var disk = _folder.Combine("disk.iso");
        File.WriteAllBytes(disk, new byte[1 << 20]);

        foreach (var path in new[] { text, empty, disk })
        {
            Assert.False(Iso9660Image.TryCheck(path, out _, out var error));
            Assert.Contains("not an ISO 9660 image", error, StringComparison.Ordinal);
        }

        Assert.False(Iso9660Image.TryCheck(_folder.Combine("missing.iso"), out _, out var missing));
        Assert.Contains("does not exist", missing, StringComparison.Ordinal);
        Assert.False(Iso9660Image.TryCheck(_folder.Path, out _, out var folder));
        Assert.Contains("is a folder", folder, StringComparison.Ordinal);
    }
}
