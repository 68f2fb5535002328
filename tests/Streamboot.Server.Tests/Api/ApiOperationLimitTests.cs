using System.Net;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Api;

/// <summary>A server that runs one API operation at a time and remembers two, for 20 s after they end.</summary>
public sealed class LimitedApiSite : ApiSite
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["STREAMBOOT_API_MAX_RUNNING_OPERATIONS"] = "1",
        ["STREAMBOOT_API_MAX_OPERATIONS"] = "2",
        ["STREAMBOOT_API_OPERATION_KEEP_SECONDS"] = "20",
    };
}

/// <summary>
/// The bounds on long operations: a second import while one runs is refused
/// with 429 and a message; only the newest operations are remembered.
/// </summary>
public sealed class ApiOperationLimitTests(LimitedApiSite site) : IClassFixture<LimitedApiSite>
{
    [Fact]
    public async Task Imports_beyond_the_running_limit_hear_429_and_old_operations_are_forgotten()
    {
        using var files = new TempFolder("streamboot-limits", site.ImportFolder);
        // Data in every block, so the copy takes a while (a sparse image would be done at once).
        var big = Path.Combine(files.Path, "big.raw");
        await using (var stream = new FileStream(big, FileMode.CreateNew, FileAccess.Write))
        {
            var block = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 13 + 1)).ToArray();
            for (var i = 0; i < 384; i++)
            {
                await stream.WriteAsync(block);
            }
        }

        var sends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            site.SendAsync(HttpMethod.Post, "vdisks/import", site.AdminToken, new { name = $"big-{i}", path = big, format = "raw" })));
        var accepted = sends.Where(s => s.Status == HttpStatusCode.Accepted).ToList();
        var refused = sends.Where(s => s.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.Single(accepted);
        Assert.Equal(2, refused.Count);
        Assert.All(refused, r => Assert.Contains("the most this server runs at once", r.Body.GetProperty("detail").GetString(), StringComparison.Ordinal));

        var first = accepted[0].Response.Headers.Location!.OriginalString;
        var running = await site.SendAsync(HttpMethod.Get, first.Replace("/api/v1/", "", StringComparison.Ordinal), site.ReadToken);
        Assert.Equal(HttpStatusCode.OK, running.Status);
        Assert.True(running.Body.GetProperty("totalBytes").GetInt64() == 384L << 20, running.Body.GetRawText());
        Assert.Equal("succeeded", (await site.WaitForOperationAsync(first)).GetProperty("state").GetString());

        // Two more finished operations: the first is forgotten, the newest are there.
        var small = Path.Combine(files.Path, "small.raw");
        await ProcessRunner.RunAsync("qemu-img", ["create", "-f", "raw", small, "2M"]);
        var locations = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var (status, _, response) = await site.SendAsync(HttpMethod.Post, "vdisks/import", site.AdminToken, new { name = $"small-{i}", path = small });
            Assert.Equal(HttpStatusCode.Accepted, status);
            locations.Add(response.Headers.Location!.OriginalString);
            await site.WaitForOperationAsync(locations[^1]);
        }

        var (gone, problem, _) = await site.SendAsync(HttpMethod.Get, first.Replace("/api/v1/", "", StringComparison.Ordinal), site.ReadToken);
        Assert.Equal(HttpStatusCode.NotFound, gone);
        Assert.Contains("STREAMBOOT_API_MAX_OPERATIONS", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        foreach (var location in locations)
        {
            Assert.Equal(HttpStatusCode.OK, (await site.SendAsync(HttpMethod.Get, location.Replace("/api/v1/", "", StringComparison.Ordinal), site.ReadToken)).Status);
        }

        // And a finished one is forgotten once its time is up.
        var last = locations[^1].Replace("/api/v1/", "", StringComparison.Ordinal);
        var finished = (await site.SendAsync(HttpMethod.Get, last, site.ReadToken)).Body.GetProperty("finishedAt").GetDateTime().ToUniversalTime();
        while ((await site.SendAsync(HttpMethod.Get, last, site.ReadToken)).Status == HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < finished.AddSeconds(40), "still there 40 s after it finished");
            await Task.Delay(500);
        }

        Assert.True(DateTime.UtcNow >= finished.AddSeconds(19), "forgotten before its 20 s");

        var vdisks = (await site.Cli.JsonAsync("vdisk", "list")).EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Contains("small-1", vdisks);
        Assert.Equal(1, vdisks.Count(n => n!.StartsWith("big-", StringComparison.Ordinal)));
    }
}
