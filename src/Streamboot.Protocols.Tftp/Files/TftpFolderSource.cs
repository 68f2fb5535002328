namespace Streamboot.Protocols.Tftp.Files;

/// <summary>
/// Files from folders, searched in order (say the site's files, then
/// /usr/lib/ipxe). Names are root-relative the way tftpd-hpa's --secure
/// makes them: a leading '/' means the folder itself, '\' is a separator
/// (Windows PXE clients send them), and no name ever leaves its folder:
/// '..' anywhere, NUL, and links that resolve outside are refused.
/// </summary>
public sealed class TftpFolderSource : ITftpFileSource
{
    /// <summary>Longer names are refused; no boot file needs one (PATH_MAX is 4096).</summary>
    public const int MaxNameLength = 1024;

    private readonly (TftpFolderRoot Root, string RealPath)[] _roots;

    public TftpFolderSource(params IEnumerable<TftpFolderRoot> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        _roots = [.. roots.Select(root => (root, RealPath(System.IO.Path.GetFullPath(root.Path))))];
        if (_roots.Length == 0)
        {
            throw new ArgumentException("at least one folder is needed", nameof(roots));
        }
    }

    public TftpFolderSource(params IEnumerable<string> roots)
        : this(roots.Select(root => new TftpFolderRoot(root)))
    {
    }

    public IReadOnlyList<TftpFolderRoot> Roots => [.. _roots.Select(r => r.Root)];

    public ValueTask<TftpOpenResult> OpenAsync(string fileName, TftpClientInfo client, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Open(fileName));

    public TftpOpenResult Open(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (!TryNormalize(fileName, out var relative, out var refusal))
        {
            return TftpOpenResult.AccessViolation(refusal);
        }

        foreach (var (root, realRoot) in _roots)
        {
            var candidate = System.IO.Path.Join(realRoot, relative);
            Microsoft.Win32.SafeHandles.SafeFileHandle handle;
            try
            {
                // Share everything: a reader must never take a lock that stalls whoever replaces the file.
                handle = File.OpenHandle(candidate, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                // A folder, or a file the server may not read.
                return TftpOpenResult.AccessViolation($"{candidate} is a folder or not readable");
            }
            catch (IOException e)
            {
                // A link loop (ELOOP), a name too long for the file system.
                return TftpOpenResult.AccessViolation($"{candidate}: {e.Message}");
            }

            if (!root.AllowLinksOutside)
            {
                // Checked on the file actually opened, so a link swapped in between check and open cannot slip through.
                var real = OpenedPath(handle) ?? RealPath(candidate);
                if (!IsInside(real, realRoot))
                {
                    handle.Dispose();
                    return TftpOpenResult.AccessViolation($"{candidate} resolves to {real}, outside {root.Path}");
                }
            }

            return TftpOpenResult.Opened(TftpFile.FromHandle(handle));
        }

        return TftpOpenResult.NotFound($"'{relative}' is in none of {string.Join(", ", _roots.Select(r => r.Root.Path))}");
    }

    /// <summary>Turns a client's name into a relative path with '/' separators, or says why not.</summary>
    public static bool TryNormalize(string fileName, out string relative, out string refusal)
    {
        relative = "";
        refusal = "";
        if (fileName.Length == 0)
        {
            refusal = "empty file name";
            return false;
        }

        if (fileName.Length > MaxNameLength)
        {
            refusal = $"file name longer than {MaxNameLength} characters";
            return false;
        }

        if (fileName.Contains('\0', StringComparison.Ordinal))
        {
            refusal = "NUL in the file name";
            return false;
        }

        var parts = new List<string>();
        foreach (var part in fileName.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                refusal = "'..' in the file name";
                return false;
            }

            if (part != ".")
            {
                parts.Add(part);
            }
        }

        if (parts.Count == 0)
        {
            refusal = "the name is a folder";
            return false;
        }

        relative = string.Join('/', parts);
        return true;
    }

    private static bool IsInside(string path, string root) =>
        root == "/" || (path.StartsWith(root, StringComparison.Ordinal) && path.Length > root.Length && path[root.Length] == '/');

    /// <summary>Where an open descriptor really points (Linux /proc), or null where /proc is missing.</summary>
    private static string? OpenedPath(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>realpath(3): every link on the way resolved. Components that do not exist are kept as they are.</summary>
    internal static string RealPath(string path, int depth = 0)
    {
        if (depth > 40)
        {
            throw new IOException($"too many levels of symbolic links in {path}");
        }

        var current = "/";
        foreach (var part in System.IO.Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = System.IO.Path.Join(current, part);
            string? target;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (IOException)
            {
                target = null;
            }

            current = target is null ? next : RealPath(System.IO.Path.GetFullPath(target, current), depth + 1);
        }

        return current;
    }
}
