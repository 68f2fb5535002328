using System.Diagnostics;
using System.Text.Json;

namespace Streamboot.Storage.Tests.Support;

/// <summary>
/// Runs qemu-img and qemu-io, the reference implementation the qcow2 code is
/// checked against. A missing tool fails the test with a message saying what
/// to install: interop tests never skip silently.
/// </summary>
public static class Qemu
{
    public static (int ExitCode, string Output, string Stdout) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed (apt-get install qemu-utils): the qcow2 interop tests need it.", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr, stdout.Result);
        }
    }

    public static string Img(params string[] args)
    {
        var (code, output, _) = Run("qemu-img", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"qemu-img {string.Join(' ', args)} exited {code}: {output}");
        }

        return output;
    }

    public static string Io(params string[] args)
    {
        var (code, output, _) = Run("qemu-io", args);
        if (code != 0 || output.Contains("Pattern verification failed", StringComparison.Ordinal) || output.Contains("failed", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"qemu-io {string.Join(' ', args)} exited {code}: {output}");
        }

        return output;
    }

    /// <summary>qemu-img check --output=json; asserts no corruptions or check errors and returns the leak count.</summary>
    public static long CheckClean(string path, bool allowLeaks = false)
    {
        var (code, output, stdout) = Run("qemu-img", "check", "--output=json", path);
        var json = stdout[stdout.IndexOf('{', StringComparison.Ordinal)..];
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        long Get(string name) => root.TryGetProperty(name, out var v) ? v.GetInt64() : 0;
        var corruptions = Get("corruptions");
        var errors = Get("check-errors");
        var leaks = Get("leaks");
        if (corruptions != 0 || errors != 0 || (!allowLeaks && (leaks != 0 || code != 0)))
        {
            throw new Xunit.Sdk.XunitException($"qemu-img check {path} exited {code}: {output}");
        }

        return leaks;
    }

    public static JsonElement Info(string path)
    {
        var output = Img("info", "--output=json", path);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }
}
