using System.Diagnostics;
using System.Globalization;

namespace Streamboot.Storm;

/// <summary>
/// The open-source chain a site would otherwise run: busybox httpd serving
/// a static boot script, the kernel and the initrd (the very files of the
/// Streamboot vDisk, hard-linked), and an NBD server on the very same image
/// file (hard-linked, so the page cache is shared): nbdkit's file plugin
/// under its cow filter (writes to a per-connection overlay in memory and a
/// temporary file) or nbd-server with <c>copyonwrite = true</c> (a diff file
/// per client, removed at disconnect). Both with their defaults otherwise.
/// </summary>
internal sealed class PeerTarget : IStormTarget
{
    private readonly List<Process> _processes = [];
    private readonly List<int> _pids = [];
    private int? _daemonPid;

    private PeerTarget(string name, string description, string scriptUrl, IReadOnlyList<string> files)
    {
        Name = name;
        Description = description;
        ScriptUrl = scriptUrl;
        Files = files;
    }

    public string Name { get; }

    public string Description { get; }

    public string ScriptUrl { get; }

    public IReadOnlyList<int> Pids => _pids;

    public IReadOnlyList<string> Files { get; }

    public DateTime ReadyAt => DateTime.MinValue;

    /// <summary>Starts busybox httpd and <paramref name="kind"/> (nbdkit or nbd-server) in <paramref name="folder"/> on <paramref name="image"/> and the boot files.</summary>
    public static async Task<PeerTarget> StartAsync(string kind, string folder, string image, string kernel, string initrd, string cmdline)
    {
        var busybox = Tool.Find("busybox", "busybox-static");
        Directory.CreateDirectory(folder);
        var www = Path.Combine(folder, "www");
        Directory.CreateDirectory(www);
        var disk = Path.Combine(folder, "disk.img");
        // Copies, not links: the running Streamboot server maps its image, and
        // mapped pages stay in the page cache whatever the storm evicts.
        File.Copy(image, disk);
        File.Copy(kernel, Path.Combine(www, "vmlinuz"));
        File.Copy(initrd, Path.Combine(www, "initrd.img"));
        var httpPort = Tool.FreePort();
        var nbdPort = Tool.FreePort();
        var baseUrl = $"http://127.0.0.1:{httpPort}";
        // What dnsmasq + iPXE sites serve: one static script for every machine.
        await File.WriteAllTextAsync(Path.Combine(www, "boot.ipxe"), $"""
            #!ipxe
            kernel {baseUrl}/vmlinuz initrd=initrd.img {cmdline} streamboot.nbd=127.0.0.1:{nbdPort} streamboot.export=disk streamboot.cache=server-disk || goto failed
            initrd {baseUrl}/initrd.img || goto failed
            boot || goto failed
            :failed
            echo boot failed

            """);

        PeerTarget target;
        if (kind == "nbdkit")
        {
            var nbdkit = Tool.Find("nbdkit", "nbdkit");
            target = new PeerTarget("nbdkit", "nbdkit --filter=cow file (defaults: 16 threads a connection) + busybox httpd", $"{baseUrl}/boot.ipxe", [disk, Path.Combine(www, "vmlinuz"), Path.Combine(www, "initrd.img")]);
            var process = Tool.Start(nbdkit, ["--foreground", "--ipaddr", "127.0.0.1", "--port", $"{nbdPort}", "--filter=cow", "file", disk], Path.Combine(folder, "nbdkit.log"));
            target._processes.Add(process);
            target._pids.Add(process.Id);
            await Tool.WaitListeningAsync(nbdPort, process, TimeSpan.FromSeconds(20));
        }
        else
        {
            var nbdServer = Tool.Find("nbd-server", "nbd-server");
            target = new PeerTarget("nbd-server", "nbd-server, copyonwrite = true (a process and a diff file per client) + busybox httpd", $"{baseUrl}/boot.ipxe", [disk, Path.Combine(www, "vmlinuz"), Path.Combine(www, "initrd.img")]);
            var config = Path.Combine(folder, "nbd-server.conf");
            await File.WriteAllTextAsync(config, $"""
                [generic]
                    port = {nbdPort}
                    listenaddr = 127.0.0.1
                [disk]
                    exportname = {disk}
                    copyonwrite = true

                """);
            var pidFile = Path.Combine(folder, "nbd-server.pid");
            // nbd-server daemonizes (-d would serve one client at a time): its PID comes from the PID file.
            await Tool.RunAsync(nbdServer, ["-C", config, "-p", pidFile]);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!File.Exists(pidFile) || (await File.ReadAllTextAsync(pidFile)).Trim().Length == 0)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException("nbd-server wrote no PID file");
                }

                await Task.Delay(100);
            }

            target._daemonPid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
            target._pids.Add(target._daemonPid.Value);
        }

        var httpd = Tool.Start(busybox, ["httpd", "-f", "-p", $"127.0.0.1:{httpPort}", "-h", www], Path.Combine(folder, "httpd.log"));
        target._processes.Add(httpd);
        target._pids.Add(httpd.Id);
        await Tool.WaitListeningAsync(httpPort, httpd, TimeSpan.FromSeconds(20));
        return target;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await Tool.StopAsync(process);
        }

        if (_daemonPid is { } pid)
        {
            try
            {
                using var daemon = Process.GetProcessById(pid);
                daemon.Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }

            // Not our child: wait for /proc to forget it.
            for (var i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++)
            {
                await Task.Delay(100);
            }
        }
    }
}
