using System.Text.RegularExpressions;

namespace Streamboot.Storm;

/// <summary>
/// What a client takes from an iPXE boot script: the kernel's URL and
/// command line, the initrd URLs (Streamboot's second one is the boot's key
/// as a cpio, <c>/boot/key/KEY/...</c>), and the NBD endpoint and export
/// from <c>streamboot.nbd=</c> and <c>streamboot.export=</c>. A script
/// without a kernel that says <c>sleep N</c> and chains to itself (a full
/// server, a refusal) is a retry after N seconds, as iPXE would do it.
/// </summary>
internal sealed partial record BootScript(string KernelUrl, IReadOnlyList<string> InitrdUrls, string NbdHost, int NbdPort, string Export, string? Key)
{
    /// <summary>The NBD export name: the script's export, with the boot's key when it has one.</summary>
    public string NbdExport => Key is null ? Export : $"{Export}/{Key}";

    /// <summary>Reads a script; <paramref name="retrySeconds"/> is set instead when it asks the client to come back later.</summary>
    public static BootScript? Parse(string script, out int retrySeconds)
    {
        retrySeconds = 0;
        string? kernel = null;
        string? nbd = null;
        string? export = null;
        string? key = null;
        var initrds = new List<string>();
        foreach (var raw in script.Split('\n'))
        {
            var line = raw.Trim();
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2)
            {
                continue;
            }

            switch (words[0])
            {
                case "kernel":
                    kernel = words[1];
                    nbd = words.FirstOrDefault(w => w.StartsWith("streamboot.nbd=", StringComparison.Ordinal))?["streamboot.nbd=".Length..];
                    export = words.FirstOrDefault(w => w.StartsWith("streamboot.export=", StringComparison.Ordinal))?["streamboot.export=".Length..];
                    break;
                case "initrd":
                    initrds.Add(words[1]);
                    if (KeyUrl().Match(words[1]) is { Success: true } m)
                    {
                        key = m.Groups[1].Value;
                    }

                    break;
                case "sleep" when int.TryParse(words[1], out var seconds):
                    retrySeconds = seconds;
                    break;
            }
        }

        if (kernel is null || nbd is null || export is null)
        {
            return null;
        }

        var colon = nbd.LastIndexOf(':');
        return new BootScript(kernel, initrds, nbd[..colon], int.Parse(nbd[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), export, key);
    }

    [GeneratedRegex("/boot/key/([0-9a-f]{32})/")]
    private static partial Regex KeyUrl();
}
