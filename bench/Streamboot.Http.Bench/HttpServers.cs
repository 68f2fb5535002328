using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Streamboot.Http.Bench;

/// <summary>
/// One server under test: its URL for the disk and the process this bench
/// started (killed by PID at the end). <paramref name="CountsCpu"/> is false
/// for busybox httpd: it forks a child per connection and ignores SIGCHLD,
/// so its children are never reaped into its /proc counters.
/// </summary>
internal sealed record HttpServer(string Name, Uri Url, Process Process, bool CountsCpu = true);

/// <summary>
/// Starts the servers on free loopback ports. <c>serve</c> is
/// <c>streamboot serve</c> with its defaults on a data folder of its own,
/// the image imported with <c>vdisk import</c> (qcow2, the default), read
/// through the vDisk's read-only view <c>/vdisk/bench</c>; lighttpd (a config
/// in the temp folder) and busybox httpd serve the raw image as a file.
/// </summary>
internal static class HttpServers
{
    public static async Task<HttpServer> StartAsync(string name, string image, string folder)
    {
        var port = FreePort();
        var server = name switch
        {
            "serve" => await StartServeAsync(port, image, folder),
            "lighttpd" => StartLighttpd(port, image, folder),
            "busybox-httpd" => new HttpServer(name, FileUrl(port, image), Start(Find("busybox", "busybox"), ["httpd", "-f", "-p", $"127.0.0.1:{port}", "-h", Path.GetDirectoryName(image)!]), CountsCpu: false),
            _ => throw new ArgumentException($"unknown server '{name}' (serve, lighttpd, busybox-httpd)", nameof(name)),
        };
        await WaitForAsync(server);
        return server;
    }

    private static async Task<HttpServer> StartServeAsync(int port, string image, string folder)
    {
        var launcher = Path.Combine(Repository(), "streamboot");
        var data = Path.Combine(folder, "serve-data");
        Directory.CreateDirectory(data);
        await RunAsync(launcher, ["--data", data, "vdisk", "import", "bench", image]);
        string[] arguments =
        [
            "--data", data, "serve", "--bind", "127.0.0.1", "--server-name", "http-bench",
            "--http-port", port.ToString(CultureInfo.InvariantCulture), "--nbd-port", FreePort().ToString(CultureInfo.InvariantCulture),
            "--iscsi-port", "0", "--tftp-port", "0",
        ];
        return new HttpServer("serve", new Uri($"http://127.0.0.1:{port}/vdisk/bench"), Start(launcher, arguments));
    }

    private static HttpServer StartLighttpd(int port, string image, string folder)
    {
        var config = Path.Combine(folder, "lighttpd.conf");
        // Keep-alive as long as the bench runs (its default closes a connection after 1000 requests).
        File.WriteAllText(config, $"""
            server.document-root = "{Path.GetDirectoryName(image)}"
            server.bind = "127.0.0.1"
            server.port = {port.ToString(CultureInfo.InvariantCulture)}
            server.max-keep-alive-requests = 1000000
            server.max-keep-alive-idle = 60
            server.errorlog = "{Path.Combine(folder, "lighttpd.log")}"

            """);
        return new HttpServer("lighttpd", FileUrl(port, image), Start(Find("lighttpd", "lighttpd"), ["-D", "-f", config]));
    }

    private static Uri FileUrl(int port, string image) => new($"http://127.0.0.1:{port}/{Path.GetFileName(image)}");

    /// <summary>Up when a one-byte range answers 206 (serve opens its database and the vDisk first).</summary>
    private static async Task WaitForAsync(HttpServer server)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        for (var deadline = DateTime.UtcNow.AddMinutes(3); ;)
        {
            if (server.Process.HasExited)
            {
                throw new InvalidOperationException($"{server.Name} exited with {server.Process.ExitCode}");
            }

            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, server.Url);
                request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 0);
                using var response = await http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    return;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"{server.Name}: {server.Url} answers {(int)response.StatusCode}, not 206");
                }
            }
            catch (Exception e) when ((e is HttpRequestException or TaskCanceledException) && DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(200);
        }
    }

    private static string Find(string program, string package) =>
        new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin" }.Select(f => Path.Combine(f, program)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{program} is not installed: install Debian's '{package}' package");

    private static string Repository()
    {
        for (var folder = AppContext.BaseDirectory; folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (File.Exists(Path.Combine(folder, "Streamboot.slnx")))
            {
                return folder;
            }
        }

        throw new InvalidOperationException("run the bench from the repository's build output (it starts ./streamboot)");
    }

    private static Process Start(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("STREAMBOOT_DATA");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"  [{Path.GetFileName(file)}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("STREAMBOOT_DATA");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
