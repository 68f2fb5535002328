using Streamboot.Testing;

namespace Streamboot.Packaging.Tests;

/// <summary>deploy/deb/build.sh refuses what it cannot build, with one line that says why, before it publishes anything.</summary>
public sealed class BuildScriptTests : IDisposable
{
    private readonly TempFolder _out = new("streamboot-deb-args");

    public void Dispose() => _out.Dispose();

    [Theory]
    [InlineData("'1.0 beta' is not a Debian version", "--version", "1.0 beta")]
    [InlineData("'v1' is not a Debian version", "--version", "v1")]
    [InlineData("--version needs a value", "--version")]
    [InlineData("--out needs a value", "--out", "--reuse-publish")]
    [InlineData("--compression: 'zstd' is not xz or gzip", "--compression", "zstd")]
    [InlineData("unknown argument '--frobnicate'", "--frobnicate")]
    [InlineData("unknown argument '0.2.0'", "0.2.0")]
    public async Task A_bad_argument_is_a_usage_error(string message, params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_out.Path));
    }

    [Fact]
    public async Task Reusing_a_publish_that_is_not_there_fails_and_says_how_to_make_one()
    {
        var result = await RunAsync("--out", _out.Path, "--reuse-publish");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"no self-contained publish in {_out.Combine("publish")}; run once without --reuse-publish", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_out.Combine("root", "DEBIAN", "control")));
    }

    [Fact]
    public async Task Help_names_every_option()
    {
        var result = await RunAsync("--help");
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var option in new[] { "--out DIR", "--version VERSION", "--reuse-publish", "--compression" })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }
    }

    // Bad arguments are refused before --out is read: point it at the
    // test's folder anyway, so a regression cannot publish into artifacts/.
    private Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(DebPackages.Script, arguments.Contains("--out") ? arguments : [.. arguments, "--out", _out.Path]);
}
