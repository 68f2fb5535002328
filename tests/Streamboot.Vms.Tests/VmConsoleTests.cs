using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary><c>vm console</c> in a real terminal: keys reach the guest's shell, its output comes back, Ctrl+] leaves and the VM runs on.</summary>
public sealed class VmConsoleTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    // xunit 2 runs IAsyncLifetime, not IAsyncDisposable, on test classes.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _site.DisposeAsync().AsTask();

    [Fact]
    public async Task The_console_carries_keys_both_ways_and_ctrl_bracket_leaves_the_vm_running()
    {
        var iso = await TestIso.PathAsync();
        await _site.CreateOkAsync("con1", "--iso", iso, "--disk-size", "8M", "--memory", "192", "--cores", "1");
        var start = await _site.Cli.RunAsync("vm", "start", "con1", "--wait-for", TestIso.Ready, "--timeout", "240");
        Assert.True(start.ExitCode == 0, start + "\n" + _site.Console("con1"));

        await using var terminal = await Tmux.StartAsync($"cd {Repository.Root} && ./streamboot --data {_site.Cli.DataFolder} vm console con1; echo CONSOLE-EXIT=$?; sleep 600");
        await terminal.WaitForAsync("Ctrl+] leaves", TimeSpan.FromMinutes(2));
        // $((6*7)) is worked out by the guest's shell: 42 can only come from the VM.
        await terminal.TypeLineAsync("echo answer-$((6*7))");
        await terminal.WaitForAsync("answer-42", TimeSpan.FromSeconds(30));
        Assert.Contains("answer-42", _site.Console("con1"), StringComparison.Ordinal);

        await terminal.KeysAsync("C-]");
        var screen = await terminal.WaitForAsync("CONSOLE-EXIT=", TimeSpan.FromSeconds(30));
        Assert.Contains("Left con1's console.", screen, StringComparison.Ordinal);
        Assert.Contains("CONSOLE-EXIT=0", screen, StringComparison.Ordinal);
        Assert.Equal("running", (await _site.ShowAsync("con1")).GetProperty("state").GetString());
    }
}
