using Streamboot.Protocols.Tftp.Files;
using Streamboot.Testing;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>Name handling of the folder source, without the network.</summary>
public sealed class FolderSourceTests
{
    [Theory]
    [InlineData("a.efi", "a.efi")]
    [InlineData("/a.efi", "a.efi")]
    [InlineData("\\boot\\a.efi", "boot/a.efi")]
    [InlineData("boot//./a.efi", "boot/a.efi")]
    public void Names_become_root_relative(string name, string relative)
    {
        Assert.True(TftpFolderSource.TryNormalize(name, out var result, out var refusal), refusal);
        Assert.Equal(relative, result);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("..")]
    [InlineData("a/../b")]
    [InlineData("..\\x")]
    [InlineData("a\0b")]
    public void Names_that_could_leave_the_root_are_refused(string name)
    {
        Assert.False(TftpFolderSource.TryNormalize(name, out _, out var refusal));
        Assert.NotEmpty(refusal);
    }

    [Fact]
    public void Roots_are_searched_in_order_and_links_inside_a_root_are_fine()
    {
        using var folder = new TempFolder("streamboot-tftp");
        Directory.CreateDirectory(folder.Combine("one"));
        Directory.CreateDirectory(folder.Combine("two"));
        File.WriteAllText(folder.Combine("one", "both"), "1");
        File.WriteAllText(folder.Combine("two", "both"), "22");
        File.WriteAllText(folder.Combine("two", "only"), "333");
        File.CreateSymbolicLink(folder.Combine("two", "alias"), "only");
        var source = new TftpFolderSource(folder.Combine("one"), folder.Combine("two"));

        using (var both = source.Open("both").File)
        {
            Assert.Equal(1, both!.Length);
        }

        using (var alias = source.Open("alias").File)
        {
            Assert.Equal(3, alias!.Length);
        }

        Assert.Equal(TftpOpenError.NotFound, source.Open("nothing").Error);
        Assert.Equal(TftpOpenError.AccessViolation, source.Open("/").Error);
    }

    [Fact]
    public void A_folder_name_is_an_access_violation()
    {
        using var folder = new TempFolder("streamboot-tftp");
        Directory.CreateDirectory(folder.Combine("sub"));
        var source = new TftpFolderSource(folder.Path);
        Assert.Equal(TftpOpenError.AccessViolation, source.Open("sub").Error);
    }
}
