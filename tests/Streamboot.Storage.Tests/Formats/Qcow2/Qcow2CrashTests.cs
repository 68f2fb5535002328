using System.Diagnostics;
using System.Globalization;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats.Qcow2;

/// <summary>
/// kill -9 in the middle of writing: a child process writes, trims and
/// flushes a qcow2 image and is killed with SIGKILL at a random moment.
/// Every operation whose flush completed must be in the image, and qemu-img
/// check must find no corruption (leaked clusters are allowed: they are
/// what an interrupted allocation leaves).
/// </summary>
public sealed class Qcow2CrashTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(65536, 1)]
    [InlineData(4096, 2)]
    [InlineData(65536, 3)]
    [InlineData(512, 4)]
    public void Every_flushed_write_survives_sigkill(int clusterSize, int seed)
    {
        const long size = 16 << 20;
        var path = _dir.File("crash.qcow2");
        Qcow2Image.Create(path, size, clusterSize);
        var random = new Random(seed);
        var lines = RunAndKill(path, seed, TimeSpan.FromMilliseconds(random.Next(300, 1500)));

        var model = new byte[size];
        var begun = new Dictionary<int, (long Offset, int Length, bool Trim)>();
        var done = new HashSet<int>();
        foreach (var line in lines)
        {
            var p = line.Split(' ');
            if (p[0] == "begin")
            {
                begun[int.Parse(p[1], CultureInfo.InvariantCulture)] = (long.Parse(p[2], CultureInfo.InvariantCulture), int.Parse(p[3], CultureInfo.InvariantCulture), p[4] == "trim");
            }
            else if (p[0] == "done")
            {
                done.Add(int.Parse(p[1], CultureInfo.InvariantCulture));
            }
        }

        Assert.True(done.Count >= 3, $"the writer finished only {done.Count} operations before it was killed");
        (long Offset, int Length, bool Trim, int N)? inFlight = null;
        foreach (var (n, op) in begun.OrderBy(kv => kv.Key))
        {
            if (!done.Contains(n))
            {
                Assert.Null(inFlight);
                inFlight = (op.Offset, op.Length, op.Trim, n);
                continue;
            }

            Apply(model, n, op.Offset, op.Length, op.Trim);
        }

        var leaks = Qemu.CheckClean(path, allowLeaks: true);
        var image = Qcow2Image.Open(path, readOnly: true);
        var actual = image.Read(0, (int)size);
        image.Close();
        var after = (byte[])model.Clone();
        if (inFlight is { } f)
        {
            Apply(after, f.N, f.Offset, f.Length, f.Trim);
        }

        for (var i = 0; i < size; i++)
        {
            if (actual[i] != model[i] && actual[i] != after[i])
            {
                throw new Xunit.Sdk.XunitException($"byte {i} is {actual[i]} after the crash; the flushed writes say {model[i]} (in flight: {inFlight}); {done.Count} operations done, {leaks} leaked clusters");
            }
        }

        // qemu sees the same flushed data.
        var view = _dir.File("view.raw");
        Qemu.Img("convert", "-O", "raw", path, view);
        var qemu = File.ReadAllBytes(view);
        for (var i = 0; i < size; i++)
        {
            if (qemu[i] != actual[i])
            {
                throw new Xunit.Sdk.XunitException($"qemu reads byte {i} as {qemu[i]}, Streamboot as {actual[i]}");
            }
        }

        // And the image can be written again after the crash.
        var reopened = Qcow2Image.Open(path, readOnly: false);
        reopened.Write(0, Sync.Pattern(100_000, 1));
        reopened.Close();
        Qemu.CheckClean(path, allowLeaks: true);
    }

    private static void Apply(byte[] model, int n, long offset, int length, bool trim)
    {
        if (trim)
        {
            Array.Clear(model, (int)offset, length);
        }
        else
        {
            CrashPattern.Fill(model.AsSpan((int)offset, length), n, offset);
        }
    }

    private static List<string> RunAndKill(string image, int seed, TimeSpan after)
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "Streamboot.Storage.CrashWriter.dll");
        Assert.True(File.Exists(helper), $"the crash helper {helper} was not built next to the tests");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(helper);
        psi.ArgumentList.Add(image);
        psi.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(psi)!;
        var lines = new List<string>();
        var firstDone = new ManualResetEventSlim();
        var reader = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
            {
                lock (lines)
                {
                    lines.Add(line);
                }

                if (line.StartsWith("done", StringComparison.Ordinal))
                {
                    firstDone.Set();
                }
            }
        });
        var stderr = process.StandardError.ReadToEndAsync();
        if (!firstDone.Wait(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            Assert.Fail("the crash writer never finished an operation: " + stderr.Result);
        }

        Thread.Sleep(after);
        if (process.HasExited)
        {
            Assert.Fail("the crash writer exited on its own: " + stderr.Result);
        }

        process.Kill(); // SIGKILL on Linux: no finaliser, no flush, no chance to clean up
        process.WaitForExit();
        reader.Wait();
        return lines;
    }
}
