using System.Diagnostics;
using System.Text.Json;

namespace Streamboot.Storm;

/// <summary>
/// <c>streamboot serve</c> as users run it: a fresh data folder, only the
/// ports and the bind address given. The test OS's disk is imported raw as
/// vDisk <c>testos</c> with its kernel, initrd and cmdline in the store's
/// <c>boot/</c> folder (as the Boot.Tests' TestOs.ImportAsync does), and a
/// collection <c>lab</c> receives unknown devices and auto-registers them
/// with that vDisk.
/// </summary>
internal sealed class StreambootTarget : IStormTarget
{
    /// <summary>The server's default booting window (<c>BootingSeconds</c>): boots issued within it count against <c>--max-booting</c>.</summary>
    public static readonly TimeSpan BootingWindow = TimeSpan.FromSeconds(90);

    /// <summary>The server's default limit of clients booting at once (<c>--max-booting</c>).</summary>
    public const int MaxBooting = 500;

    private readonly string _root;
    private readonly string _data;
    private Process? _server;

    private StreambootTarget(string root, string data, string scriptUrl, IReadOnlyList<string> files)
    {
        _root = root;
        _data = data;
        ScriptUrl = scriptUrl;
        Files = files;
    }

    public string Name => "streamboot";

    public string Description => "streamboot serve, defaults (raw vDisk, server-disk write cache, read cache 256 MiB, --max-booting 500)";

    public string ScriptUrl { get; }

    public IReadOnlyList<int> Pids => _server is null ? [] : [_server.Id];

    public IReadOnlyList<string> Files { get; }

    public DateTime ReadyAt { get; private set; } = DateTime.MinValue;

    /// <summary>The image file of vDisk testos (the peers serve the same file).</summary>
    public string Image => Files[0];

    /// <summary>Makes the site in <paramref name="data"/> and starts the server.</summary>
    public static async Task<StreambootTarget> StartAsync(string root, string testos, string data)
    {
        var launcher = Path.Combine(root, "streamboot");
        Directory.CreateDirectory(data);
        async Task<string> Cli(params string[] arguments) => await Tool.RunAsync(launcher, ["--data", data, .. arguments], root, TimeSpan.FromMinutes(10));
        await Cli("vdisk", "import", "testos", Path.Combine(testos, "disk.img"), "--format", "raw");
        using var show = JsonDocument.Parse(await Cli("--json", "vdisk", "show", "testos"));
        var store = show.RootElement.GetProperty("storePath").GetString()!;
        var boot = Path.Combine(store, "boot");
        Directory.CreateDirectory(boot);
        File.Copy(Path.Combine(testos, "vmlinuz"), Path.Combine(boot, "vmlinuz"));
        File.Copy(Path.Combine(testos, "initrd.img"), Path.Combine(boot, "initrd.img"));
        File.Copy(Path.Combine(testos, "cmdline"), Path.Combine(boot, "cmdline"));
        await Cli("collection", "add", "lab", "--pattern", "LAB-####", "--policy", "auto-register", "--default-vdisk", "testos", "--receives-unknown");
        var image = Directory.GetFiles(store, "testos.*").Single(f => !f.EndsWith(".profile", StringComparison.Ordinal));

        var http = Tool.FreePort();
        var target = new StreambootTarget(root, data, $"http://127.0.0.1:{http}/boot.ipxe", [image, Path.Combine(boot, "vmlinuz"), Path.Combine(boot, "initrd.img")]);
        target._server = Tool.Start(
            launcher,
            ["--data", data, "serve", "--bind", "127.0.0.1", "--http-port", $"{http}", "--nbd-port", $"{Tool.FreePort()}", "--iscsi-port", $"{Tool.FreePort()}"],
            Path.Combine(data, "serve.log"),
            new Dictionary<string, string> { ["STREAMBOOT_TFTP_PORT"] = "0" });
        await Tool.WaitListeningAsync(http, target._server, TimeSpan.FromMinutes(3));
        return target;
    }

    /// <summary>
    /// A lab whose machines booted before: each of <paramref name="clients"/>
    /// asks for its boot script once (the collection registers it; a second
    /// ask in the storm finds it known). When those boots and the storm's
    /// together would pass the default <c>--max-booting</c> (500), the storm
    /// starts only once they left the booting window, so it starts with none
    /// booting; smaller storms start at once.
    /// Returns the seconds the registrations took.
    /// </summary>
    public async Task<double> RegisterAsync(int clients)
    {
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (index, cancellationToken) =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            var script = await http.GetStringAsync($"{ScriptUrl}?mac={SimulatedClient.Mac(index)}", cancellationToken);
            // Past --max-booting the script says the device (registered now) waits its turn.
            if (!script.Contains("registered this machine", StringComparison.Ordinal) && !script.Contains("this is LAB-", StringComparison.Ordinal) && !script.Contains("waits its turn", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"registering {SimulatedClient.Mac(index)}: {script}");
            }
        });
        if ((Storm.WarmUpClients * Storm.WarmUpRounds) + (2 * clients) > MaxBooting)
        {
            ReadyAt = DateTime.UtcNow + BootingWindow + TimeSpan.FromSeconds(2);
        }

        return clock.Elapsed.TotalSeconds;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            // SIGTERM first: serve stops cleanly (its launcher is a script that execs it).
            await Tool.RunAsync("/bin/kill", ["-TERM", $"{_server.Id}"], _root);
            if (!_server.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                await Tool.StopAsync(_server);
            }

            _server.Dispose();
            _server = null;
        }
    }

    /// <summary>The data folder (for the log after a failure).</summary>
    public string Data => _data;
}
