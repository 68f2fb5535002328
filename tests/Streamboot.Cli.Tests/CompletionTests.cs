using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary><c>completion bash</c> completes the site's names and the words of enum options, never making a site.</summary>
public sealed class CompletionTests : IDisposable
{
    private readonly StreambootCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Names_of_the_site_and_option_words_are_completed()
    {
        await _cli.OkAsync("vdisk", "create", "debian12", "--size", "1M");
        await _cli.OkAsync("vdisk", "create", "tools", "--size", "1M");
        await _cli.OkAsync("collection", "add", "lab");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1", "--collection", "lab");
        await _cli.OkAsync("vm", "create", "golden-vm", "--no-prompt", "--network", "none", "--disk-size", "8M", "--memory", "128", "--cores", "1");

        Assert.Equal(["debian12", "tools"], await SuggestAsync("vdisk show "));
        Assert.Equal(["debian12"], await SuggestAsync("vdisk version new de"));
        Assert.Equal(["pc1"], await SuggestAsync("assign "));
        Assert.Equal(["debian12", "tools"], await SuggestAsync("assign pc1 "));
        Assert.Equal(["default", "lab"], await SuggestAsync("device list --collection "));
        Assert.Equal(["golden-vm"], await SuggestAsync("vm start "));
        Assert.Equal(["client-disk", "client-ram", "inherit", "none", "server-disk", "server-ram"], await SuggestAsync("device set pc1 --write-cache "));
        Assert.Equal(["client-disk", "client-ram", "none", "server-disk", "server-ram"], await SuggestAsync("vdisk set tools --write-cache "));
        Assert.Equal(["production", "test"], await SuggestAsync("vdisk version promote tools --to "));
        Assert.Equal(["maintenance", "production", "test"], await SuggestAsync("device add 52:54:00:00:00:02 --type "));
        Assert.Equal(["qcow2", "raw", "vdi", "vhd", "vhdx", "vmdk"], await SuggestAsync("vdisk import x f --source-format "));
        // A new name is not completed from the old ones.
        Assert.Empty(await SuggestAsync("vdisk create "));
    }

    [Fact]
    public async Task Completing_on_a_site_that_does_not_exist_completes_no_names_and_makes_nothing()
    {
        var typo = Path.Combine(_cli.DataFolder, "typo");
        var suggestions = await _cli.RunBareAsync("[suggest:33]", $"streamboot --data {typo} device show ");
        Assert.Equal(0, suggestions.ExitCode);
        Assert.False(Directory.Exists(typo));
    }

    [Fact]
    public async Task Completion_speaks_json_too()
    {
        var json = await _cli.JsonAsync("completion", "bash");
        Assert.Equal("bash", json.GetProperty("shell").GetString());
        Assert.Contains("complete -o default -F _streamboot_complete streamboot", json.GetProperty("script").GetString(), StringComparison.Ordinal);
    }

    /// <summary>What the bash script would offer after <paramref name="line"/> (flags left out).</summary>
    private async Task<string[]> SuggestAsync(string line)
    {
        var full = $"streamboot --data {_cli.DataFolder} {line}";
        var result = await _cli.RunBareAsync($"[suggest:{full.Length}]", full);
        Assert.True(result.ExitCode == 0, result.ToString());
        return [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(s => !s.StartsWith('-') && !s.StartsWith('/'))];
    }
}
