namespace Streamboot.Testing;

/// <summary>
/// libnbd's scripted client. Its module is Debian's (python3-libnbd), and
/// the nbdsh wrapper runs the first python3 on PATH, so Debian's comes first.
/// </summary>
public static class Nbdsh
{
    public static async Task<ProcessResult> RunAsync(string script)
    {
        var nbdsh = ProcessRunner.Find("nbdsh") ?? throw new InvalidOperationException("nbdsh is not installed: install Debian's 'python3-libnbd' package (./test.sh installs it)");
        var path = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH");
        return await ProcessRunner.RunAsync(nbdsh, ["-c", script], new Dictionary<string, string?> { ["PATH"] = path });
    }
}
