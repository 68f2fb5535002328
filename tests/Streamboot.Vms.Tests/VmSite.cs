using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// A data folder driven through the real <c>./streamboot</c> launcher, and
/// the VMs a test made in it: each is stopped hard at the end, and its QEMU
/// killed by the PID in its PID file if the stop did not do it.
/// </summary>
public sealed partial class VmSite : IAsyncDisposable
{
    private readonly HashSet<string> _vms = new(StringComparer.OrdinalIgnoreCase);

    public StreambootCli Cli { get; } = new();

    public string VmFolder(string vm) => Path.Combine(Cli.DataFolder, "vms", vm);

    /// <summary><c>vm create NAME --no-prompt FLAGS</c>; the VM is cleaned up at the end.</summary>
    public async Task<ProcessResult> CreateAsync(string name, params string[] flags)
    {
        _vms.Add(name);
        return await Cli.RunAsync(["vm", "create", name, "--no-prompt", .. flags]);
    }

    public async Task<ProcessResult> CreateOkAsync(string name, params string[] flags)
    {
        var result = await CreateAsync(name, flags);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    public void Track(string name) => _vms.Add(name);

    /// <summary>What the VM printed on its serial port since it last started, escape sequences removed.</summary>
    public string Console(string vm) => VmRuntime.ReadConsole(new Vms.VmFolder(VmFolder(vm)));

    /// <summary>The line of the console that starts with <paramref name="prefix"/>, as fields (key=value).</summary>
    public Dictionary<string, string> Fields(string vm, string prefix)
    {
        var line = Console(vm).Split('\n').Last(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return FieldPattern().Matches(line[prefix.Length..]).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
    }

    public async Task<JsonElement> ShowAsync(string vm) => await Cli.JsonAsync("vm", "show", vm);

    public async ValueTask DisposeAsync()
    {
        foreach (var vm in _vms)
        {
            await Cli.RunAsync("vm", "stop", vm, "--hard");
            var pidFile = Path.Combine(VmFolder(vm), "qemu.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    if (File.ReadAllText($"/proc/{pid}/cmdline").Contains(pidFile, StringComparison.Ordinal))
                    {
                        process.Kill();
                    }
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
                {
                }
            }
        }

        Cli.Dispose();
    }

    // key=value, where a value runs to the next " key=" (full names have spaces).
    [GeneratedRegex(@"([a-z0-9_-]+)=(.*?)(?=\s[a-z0-9_-]+=|$)")]
    private static partial Regex FieldPattern();
}
