using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>
/// libiscsi's iscsi-test-cu, families SCSI and iSCSI, against tgt and
/// against Streamboot's target in the same test, over images of the same
/// size: every test that passes on tgt must pass here.
/// </summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("SCSI")]
    [InlineData("iSCSI")]
    public async Task Every_test_that_passes_on_tgt_passes_on_streamboot(string family)
    {
        await using var server = IscsiTestServer.Start(size: 256 << 20);
        var tgtImage = server.Folder.Combine("tgt.raw");
        File.Copy(server.DiskPath, tgtImage);
        await using var tgt = await Tgt.StartAsync(tgtImage);

        var reference = await IscsiTestCu.RunAsync(tgt.Url, family);
        var ours = await IscsiTestCu.RunAsync(server.Url(IscsiTestServer.Disk), family);

        output.WriteLine($"{family}: tgt passes {reference.Count(t => t.Value)} of {reference.Count}, Streamboot {ours.Count(t => t.Value)} of {ours.Count}");
        output.WriteLine($"fail on tgt: {string.Join(", ", reference.Where(t => !t.Value).Select(t => t.Key))}");
        output.WriteLine($"fail on Streamboot: {string.Join(", ", ours.Where(t => !t.Value).Select(t => t.Key))}");
        Assert.True(reference.Count > 0 && ours.Count == reference.Count, $"tgt ran {reference.Count} tests, Streamboot {ours.Count}");
        var regressions = reference.Where(t => t.Value && !ours.GetValueOrDefault(t.Key)).Select(t => t.Key).ToList();
        Assert.True(regressions.Count == 0, $"pass on tgt, fail on Streamboot: {string.Join(", ", regressions)}");
    }
}
