namespace Streamboot.Testing;

/// <summary>qemu's image tools as the independent judge of what Streamboot writes. Missing tools fail the test, with the fix.</summary>
public static class QemuImg
{
    public static string Path(string tool = "qemu-img") =>
        ProcessRunner.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's 'qemu-utils' package (./test.sh installs it)");

    public static async Task<string> RunAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(Path(), arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"qemu-img {string.Join(' ', arguments)}: {result}");
        }

        return result.Stdout;
    }

    public static async Task<string> IoAsync(string format, string file, params string[] commands)
    {
        var arguments = new List<string> { "-f", format };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(file);
        var result = await ProcessRunner.RunAsync(Path("qemu-io"), arguments);
        // qemu-io reports a failed pattern check on stdout and still exits 0.
        if (result.ExitCode != 0 || result.Stdout.Contains("Pattern verification failed", StringComparison.Ordinal) || result.Stdout.Contains("failed", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"qemu-io {string.Join(' ', arguments)}: {result}");
        }

        return result.Stdout;
    }
}
