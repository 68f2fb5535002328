using System.Globalization;
using System.Net;
using Streamboot.Nbd.Bench;
using Streamboot.Protocols.Nbd;

if (args is ["serve-chain", var top, var overlay, var chainPort, ..])
{
    // serve-chain TOP OVERLAY PORT [--copy]: the session stack of 'streamboot serve' (chain, shared read cache, write-cache overlay).
    await using var stack = SessionStack.Open(top, overlay);
    var device = stack.Device;
    await using var server = new NbdServer(new SingleFileProvider(device, top), new NbdServerOptions { ZeroCopyReads = !args.Contains("--copy") });
    server.Start(new IPEndPoint(IPAddress.Loopback, int.Parse(chainPort, CultureInfo.InvariantCulture)));
    var stopped = new TaskCompletionSource();
    using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
    {
        c.Cancel = true;
        stopped.TrySetResult();
    });
    await stopped.Task;
    return 0;
}

if (args is ["serve", var file, var port, ..])
{
    // serve FILE PORT [--read-only] [--copy] [--socket-buffer BYTES]: the server alone, for the bench and by hand.
    var bufferIndex = Array.IndexOf(args, "--socket-buffer");
    var options = new NbdServerOptions
    {
        ZeroCopyReads = !args.Contains("--copy"),
        SocketBufferSize = bufferIndex > 0 ? int.Parse(args[bufferIndex + 1], CultureInfo.InvariantCulture) : null,
    };
    await using var server = new NbdServer(SingleFileProvider.Open(file, readOnly: args.Contains("--read-only")), options);
    server.Start(new IPEndPoint(IPAddress.Loopback, int.Parse(port, CultureInfo.InvariantCulture)));
    Console.WriteLine($"serving {file} on nbd://{server.LocalEndPoint}/ (Ctrl+C or SIGTERM stops)");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.TrySetResult();
    };
    AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
    using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
    {
        c.Cancel = true;
        stop.TrySetResult();
    });
    await stop.Task;
    Console.WriteLine($"allocated {GC.GetTotalAllocatedBytes() / 1024} KiB, gen0 collections {GC.CollectionCount(0)}");
    return 0;
}

return await Benchmark.RunAsync(args);
