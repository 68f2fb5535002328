using System.Net;
using Streamboot.Nbd.Bench;
using Streamboot.Protocols.Nbd;

if (args is ["serve", var file, var port, ..])
{
    await using var server = new NbdServer(SingleFileProvider.Open(file, readOnly: args.Contains("--read-only")));
    server.Start(new IPEndPoint(IPAddress.Loopback, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)));
    Console.WriteLine($"serving {file} on nbd://{server.LocalEndPoint}/ (Ctrl+C stops)");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.TrySetResult();
    };
    await stop.Task;
    return 0;
}

return await Benchmark.RunAsync(args);
