using System.Globalization;
using System.Net;
using Streamboot.Protocols.Tftp;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Tftp.Bench;

if (args is ["serve", var port, ..])
{
    // serve PORT FOLDER... [--max-window N] [--verbose]: the server alone on 127.0.0.1, for the bench and by hand.
    var windowIndex = Array.IndexOf(args, "--max-window");
    var options = new TftpServerOptions { MaxWindowSize = windowIndex > 0 ? int.Parse(args[windowIndex + 1], CultureInfo.InvariantCulture) : 64 };
    var folders = args[2..].Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || args[i + 1] != "--max-window")).ToArray();
    if (folders.Length == 0)
    {
        Console.Error.WriteLine("serve: at least one folder");
        return 2;
    }

    // Package folders (Debian's /usr/lib/ipxe links ipxe.efi to /boot) may link outside; others may not.
    var source = new TftpFolderSource(folders.Select(f => new TftpFolderRoot(f) { AllowLinksOutside = f.StartsWith("/usr/lib/", StringComparison.Ordinal) }));
    using var logging = new ConsoleLoggerFactory(args.Contains("--verbose") ? Microsoft.Extensions.Logging.LogLevel.Debug : Microsoft.Extensions.Logging.LogLevel.Warning);
    await using var server = new TftpServer(source, options, logging);
    server.Start(new IPEndPoint(IPAddress.Loopback, int.Parse(port, CultureInfo.InvariantCulture)));
    Console.WriteLine($"serving {string.Join(", ", folders)} on tftp://{server.LocalEndPoint}/ (Ctrl+C or SIGTERM stops)");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.TrySetResult();
    };
    using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
    {
        c.Cancel = true;
        stop.TrySetResult();
    });
    await stop.Task;
    Console.WriteLine($"{server.Statistics}");
    Console.WriteLine($"allocated {GC.GetTotalAllocatedBytes() / 1024} KiB, gen0 collections {GC.CollectionCount(0)}");
    return 0;
}

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("the TFTP server and this benchmark run on Linux");
    return 2;
}

return await Benchmark.RunAsync(args);
