using System.Text.RegularExpressions;

namespace Streamboot.Testing;

/// <summary>
/// libiscsi's conformance suite, <c>iscsi-test-cu</c>, run for one family
/// against one URL with destructive tests allowed; the outcome of every
/// test read from its CUnit XML report (a test that skips itself counts as
/// passed, as CUnit counts it).
/// </summary>
public static partial class IscsiTestCu
{
    public static async Task<IReadOnlyDictionary<string, bool>> RunAsync(string url, string family)
    {
        var tool = ProcessRunner.Find("iscsi-test-cu") ?? throw new InvalidOperationException("iscsi-test-cu is not installed: install Debian's 'libiscsi-bin' package (./test.sh installs it)");
        using var folder = new TempFolder("iscsi-test-cu");
        var result = await ProcessRunner.RunAsync(tool, ["--dataloss", "--xml", "--test", family, url], workingDirectory: folder.Path, timeout: TimeSpan.FromMinutes(10));
        var report = Path.Combine(folder.Path, "CUnitAutomated-Results.xml");
        if (!File.Exists(report))
        {
            throw new InvalidOperationException($"iscsi-test-cu wrote no report: {result}");
        }

        var outcomes = new Dictionary<string, bool>(StringComparer.Ordinal);
        string? suite = null;
        foreach (Match match in Record().Matches(await File.ReadAllTextAsync(report)))
        {
            if (match.Groups["suite"].Success)
            {
                suite = match.Groups["suite"].Value;
                continue;
            }

            var name = $"{family.Split('.')[0]}.{suite}.{match.Groups["test"].Value}";
            var passed = match.Groups["kind"].Value == "SUCCESS";
            // A failing test has one FAILURE record per failed assertion.
            outcomes[name] = outcomes.TryGetValue(name, out var before) ? before && passed : passed;
        }

        return outcomes;
    }

    [GeneratedRegex(@"<SUITE_NAME> (?<suite>\S+) </SUITE_NAME>|<CUNIT_RUN_TEST_(?<kind>SUCCESS|FAILURE)>\s*<TEST_NAME> (?<test>\S+) </TEST_NAME>")]
    private static partial Regex Record();
}
