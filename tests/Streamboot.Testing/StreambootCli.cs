using System.Text.Json;

namespace Streamboot.Testing;

/// <summary>Runs ./streamboot with its own data folder, as a user would.</summary>
public sealed class StreambootCli : IDisposable
{
    private readonly TempFolder _data = new("streamboot-cli");

    public string DataFolder => _data.Path;

    /// <summary>Extra environment for every run (STREAMBOOT_* and the like).</summary>
    public Dictionary<string, string?> Environment { get; } = new()
    {
        // The tests decide the data folder; a developer's own settings must not leak in.
        ["STREAMBOOT_DATA"] = null,
        ["STREAMBOOT_DB"] = null,
        // iSCSI's port 3260 is the machine's: a test that serves iSCSI names a free port with --iscsi-port.
        ["STREAMBOOT_ISCSI_PORT"] = "0",
        ["STREAMBOOT_HTTPS_PORT"] = "0",
    };

    public Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(Repository.Launcher, ["--data", DataFolder, .. arguments], Environment, Repository.Root);

    /// <summary>Runs without adding --data (to test the other ways of choosing it).</summary>
    public Task<ProcessResult> RunBareAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(Repository.Launcher, arguments, Environment, Repository.Root);

    /// <summary>Runs without adding --data, with <paramref name="environment"/> over <see cref="Environment"/> (null removes a variable): another user's shell, such as an admin's on a laptop.</summary>
    public Task<ProcessResult> RunBareAsync(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var merged = new Dictionary<string, string?>(Environment);
        foreach (var (key, value) in environment)
        {
            merged[key] = value;
        }

        return ProcessRunner.RunAsync(Repository.Launcher, arguments, merged, Repository.Root);
    }

    public async Task<JsonElement> JsonAsync(params string[] arguments)
    {
        var result = await RunAsync([.. arguments, "--json"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    public async Task<ProcessResult> OkAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    public void Dispose() => _data.Dispose();
}
