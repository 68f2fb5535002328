namespace Streamboot.Vms.Tests;

/// <summary>What vm stop and vm capture say when there is less to do than asked, or another way to do it.</summary>
public sealed class VmMessageTests : IAsyncLifetime
{
    private readonly VmSite _site = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task Stopping_a_stopped_vm_says_it_is_not_running_and_presses_no_button()
    {
        await _site.CreateOkAsync("idle", "--disk-size", "8M", "--memory", "128", "--cores", "1");
        var stop = await _site.Cli.OkAsync("vm", "stop", "idle");
        Assert.Equal("VM idle is not running.", stop.Stdout.Trim());
    }

    [Fact]
    public async Task Capturing_into_an_existing_vdisk_points_at_new_version()
    {
        await _site.CreateOkAsync("golden-vm", "--disk-size", "8M", "--memory", "128", "--cores", "1");
        await _site.Cli.OkAsync("vm", "capture", "golden-vm", "--vdisk", "golden");
        var again = await _site.Cli.RunAsync("vm", "capture", "golden-vm", "--vdisk", "golden");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("vDisk 'golden' already exists; capture into it as its next version with --new-version", again.Stderr, StringComparison.Ordinal);
        await _site.Cli.OkAsync("vm", "capture", "golden-vm", "--vdisk", "golden", "--new-version");
    }
}
