using Streamboot.Testing;

namespace Streamboot.Boot.Tests;

/// <summary>
/// client/linux's streamboot-nbd on the host, where there is no NBD device
/// (the host kernel has no nbd module): a bad command line gets one clear
/// line and its exit code. Its real work is in the VM tests.
/// </summary>
public sealed class ConnectionKeeperTests
{
    private static readonly Lazy<Task<string>> s_built = new(BuildAsync);

    [Theory]
    [InlineData(new string[0], 2, "usage: streamboot-nbd")]
    [InlineData(new[] { "10.0.0.1", "10809", "gold/pc1" }, 2, "usage: streamboot-nbd")]
    [InlineData(new[] { "-t", "0", "10.0.0.1", "10809", "gold/pc1", "/dev/nbd0" }, 2, "--timeout 0 would leave a request lost")]
    [InlineData(new[] { "-r", "soon", "10.0.0.1", "10809", "gold/pc1", "/dev/nbd0" }, 2, "--reconnect 'soon' is not a number of seconds")]
    [InlineData(new[] { "--bogus", "10.0.0.1", "10809", "gold/pc1", "/dev/nbd0" }, 2, "usage: streamboot-nbd")]
    [InlineData(new[] { "10.0.0.1", "10809", "gold/pc1", "/dev/null" }, 1, "/dev/null is not a block device")]
    [InlineData(new[] { "10.0.0.1", "10809", "gold/pc1", "/dev/nbd-missing" }, 1, "/dev/nbd-missing is not a block device (is the nbd module loaded?)")]
    public async Task A_bad_command_line_gets_one_clear_line_and_its_exit_code(string[] arguments, int exitCode, string message)
    {
        var result = await ProcessRunner.RunAsync(await s_built.Value, arguments);
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-key")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("0123456789abcdef0123456789abcdef0")]
    public async Task A_malformed_key_in_the_environment_is_refused_without_repeating_it(string key)
    {
        var result = await ProcessRunner.RunAsync(await s_built.Value, ["10.0.0.1", "10809", "gold/pc1", "/dev/null"], new Dictionary<string, string?> { ["STREAMBOOT_KEY"] = key });
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("STREAMBOOT_KEY is not a boot's key (32 lower-case hex digits)", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(key, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_goes_to_stdout_and_exits_0()
    {
        var result = await ProcessRunner.RunAsync(await s_built.Value, ["--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--reconnect S", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("STREAMBOOT_KEY", result.Stdout, StringComparison.Ordinal);
    }

    private static async Task<string> BuildAsync()
    {
        var client = Path.Combine(Repository.Root, "client", "linux");
        var make = await ProcessRunner.RunAsync("make", ["-s", "-C", client, "all"]);
        Assert.True(make.ExitCode == 0, $"make -C client/linux failed (test.sh installs gcc, libc6-dev, make):\n{make}");
        return Path.Combine(client, "nbd", "streamboot-nbd");
    }
}
