using System.Diagnostics;
using System.Globalization;

namespace Streamboot.Testing;

/// <summary>
/// tgt (Linux SCSI target framework, user space) as a reference target
/// beside Streamboot's: one target with one image file on the aio backing
/// store (its LUN 0 is its controller, the disk is LUN 1), on a loopback
/// port and a control port of its own. tgtd ignores SIGTERM: it is killed by
/// its PID with SIGKILL.
/// </summary>
public sealed class Tgt : IAsyncDisposable
{
    public const string TargetName = "iqn.2026-01.test.tgt:disk";

    private readonly Process _process;

    private Tgt(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"iscsi://127.0.0.1:{Port}/{TargetName}/1";

    public static async Task<Tgt> StartAsync(string image)
    {
        var tgtd = ProcessRunner.Find("tgtd", "/usr/sbin", "/sbin") ?? throw new InvalidOperationException("tgtd is not installed: install Debian's 'tgt' package (./test.sh installs it)");
        var tgtadm = ProcessRunner.Find("tgtadm", "/usr/sbin", "/sbin") ?? throw new InvalidOperationException("tgtadm is not installed: install Debian's 'tgt' package");
        var port = Ports.Free();
        var control = Random.Shared.Next(20000, 30000).ToString(CultureInfo.InvariantCulture);
        var start = new ProcessStartInfo(tgtd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-f", "-C", control, "--iscsi", $"portal=127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start tgtd");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var tgt = new Tgt(process, port);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            string[][] steps =
            [
                ["--lld", "iscsi", "--mode", "target", "--op", "new", "--tid", "1", "--targetname", TargetName],
                ["--lld", "iscsi", "--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1", "--bstype", "aio", "-b", image],
                ["--lld", "iscsi", "--mode", "target", "--op", "bind", "--tid", "1", "-I", "ALL"],
            ];
            foreach (var step in steps)
            {
                while (true)
                {
                    var result = await ProcessRunner.RunAsync(tgtadm, ["-C", control, .. step], timeout: TimeSpan.FromSeconds(20));
                    if (result.ExitCode == 0)
                    {
                        break;
                    }

                    if (DateTime.UtcNow > deadline || process.HasExited)
                    {
                        throw new InvalidOperationException($"tgtadm {string.Join(' ', step)}: {result}");
                    }

                    await Task.Delay(200);
                }
            }

            return tgt;
        }
        catch
        {
            await tgt.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
