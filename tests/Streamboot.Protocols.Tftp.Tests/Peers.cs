using System.Security.Cryptography;
using Streamboot.Testing;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>The third-party TFTP clients; a missing one fails the test and names its Debian package.</summary>
public static class Peers
{
    /// <summary>Every program these tests run, with the Debian package that has it.</summary>
    public static readonly (string Tool, string Package)[] Tools =
    [
        ("tftp", "tftp-hpa"),
        ("atftp", "atftp"),
        ("curl", "curl"),
    ];

    public const string IpxeFolder = "/usr/lib/ipxe";

    public static string Path(string tool, string package) =>
        ProcessRunner.Find(tool, "/usr/bin", "/usr/sbin") ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's '{package}' package (./test.sh installs it)");

    /// <summary>An iPXE binary from Debian's ipxe package; missing is a failure, not a skip.</summary>
    public static string IpxeFile(string name)
    {
        var path = System.IO.Path.Combine(IpxeFolder, name);
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: install Debian's 'ipxe' package (./test.sh installs it)");
    }

    public static Task<ProcessResult> RunAsync(string tool, string package, params string[] arguments) =>
        ProcessRunner.RunAsync(Path(tool, package), arguments, timeout: TimeSpan.FromMinutes(2));

    /// <summary>tftp-hpa's client. It exits 0 even when the server sent ERROR, so callers read its output.</summary>
    public static Task<ProcessResult> TftpHpaAsync(int port, string name, string local, string mode = "binary") =>
        RunAsync("tftp", "tftp-hpa", "-m", mode, "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", "get", name, local);

    public static Task<ProcessResult> AtftpAsync(int port, string name, string local, params string[] options)
    {
        var arguments = new List<string>();
        foreach (var option in options)
        {
            arguments.Add("--option");
            arguments.Add(option);
        }

        arguments.AddRange(["-g", "-r", name, "-l", local, "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return RunAsync("atftp", "atftp", [.. arguments]);
    }

    /// <summary>curl's TFTP client; --path-as-is so that '..' reaches the server as sent.</summary>
    public static Task<ProcessResult> CurlAsync(int port, string name, string local, int? blockSize = null)
    {
        var arguments = new List<string> { "-sS", "--path-as-is", "--max-time", "100", "-o", local };
        if (blockSize is { } size)
        {
            arguments.AddRange(["--tftp-blksize", size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        arguments.Add($"tftp://127.0.0.1:{port}/{name}");
        return RunAsync("curl", "curl", [.. arguments]);
    }

    /// <summary>Fetches a file with one of the real clients the way PeerTests names them, failing the test unless it succeeds.</summary>
    public static async Task FetchAsync(string client, int port, string name, string local)
    {
        switch (client)
        {
            case "tftp-hpa" or "tftp-hpa-ascii":
                var hpa = await TftpHpaAsync(port, name, local, client == "tftp-hpa" ? "binary" : "ascii");
                // tftp-hpa exits 0 after an ERROR; it says so on its output.
                var said = hpa.Stdout + hpa.Stderr;
                Assert.True(hpa.ExitCode == 0 && !said.Contains("rror", StringComparison.Ordinal) && !said.Contains("timed out", StringComparison.Ordinal), hpa.ToString());
                break;
            case "atftp":
                var atftp = await AtftpAsync(port, name, local, "blksize 1428", "windowsize 16", "tsize 0");
                Assert.True(atftp.ExitCode == 0, atftp.ToString());
                break;
            case "curl" or "curl-blksize":
                var curl = await CurlAsync(port, name, local, client == "curl" ? null : 1468);
                Assert.True(curl.ExitCode == 0, curl.ToString());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(client));
        }
    }

    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }
}
