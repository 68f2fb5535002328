using System.Globalization;

namespace Streamboot.Vms.Seeds;

/// <summary>
/// Writes a seed as a small ISO 9660 image with Rock Ridge and Joliet names
/// (so <c>user-data</c> and <c>autounattend.xml</c> keep their exact names),
/// the way cloud-image-utils' cloud-localds does, with xorriso. The file is
/// made readable by its owner only: it holds a password hash or, for
/// Windows, the password itself.
/// </summary>
public static class SeedImage
{
    public static string? Missing() => ExternalProgram.Find("xorriso") is null ? "xorriso is not installed; apt-get install xorriso" : null;

    public static async Task WriteAsync(string path, string volumeId, IReadOnlyList<(string Name, byte[] Content)> files, CancellationToken cancellationToken = default)
    {
        var xorriso = ExternalProgram.Find("xorriso") ?? throw new InvalidOperationException(Missing());
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tree = Directory.CreateTempSubdirectory("streamboot-seed-");
        var partial = Path.Combine(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.partial");
        try
        {
            ExternalProgram.SetMode(tree.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var (name, content) in files)
            {
                await File.WriteAllBytesAsync(Path.Combine(tree.FullName, name), content, cancellationToken);
            }

            var (exit, _, error) = await ExternalProgram.RunAsync(
                xorriso,
                ["-as", "mkisofs", "-quiet", "-o", partial, "-V", volumeId, "-joliet", "-rock", tree.FullName],
                cancellationToken);
            if (exit != 0)
            {
                throw new IOException($"xorriso could not write the seed image (exit {exit.ToString(CultureInfo.InvariantCulture)}): {error.Trim()}");
            }

            ExternalProgram.SetMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(partial, path, overwrite: false);
        }
        finally
        {
            File.Delete(partial);
            foreach (var file in tree.EnumerateFiles())
            {
                // Overwrite before deleting: the tree held the hash or password in clear.
                File.WriteAllBytes(file.FullName, new byte[file.Length]);
            }

            tree.Delete(recursive: true);
        }
    }
}
