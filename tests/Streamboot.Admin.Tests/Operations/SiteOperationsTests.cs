using Streamboot.Admin.Operations;

namespace Streamboot.Admin.Tests.Operations;

/// <summary>
/// The registry the API and the console share: one operation per target
/// whoever asks, a bound on those running, a refusal the Admin layer makes
/// before copying anything given back at once and not kept, and the server
/// stopping ending what runs.
/// </summary>
public sealed class SiteOperationsTests
{
    [Fact]
    public async Task One_runs_per_target_and_no_more_than_the_bound_at_once()
    {
        using var stop = new CancellationTokenSource();
        var operations = new SiteOperations(new OperationLimits(2, 10, TimeSpan.FromMinutes(1)), TimeProvider.System, stop.Token);
        var release = new TaskCompletionSource();
        Func<IProgress<(long Done, long Total)>, CancellationToken, Task<AdminResult<object>>> held = async (progress, ct) =>
        {
            progress.Report((1, 4));
            await release.Task.WaitAsync(ct);
            return "done";
        };

        var first = operations.Start("vdisk.import", "gold", "account:a", held);
        Assert.True(first.Ok);
        var same = operations.Start("vdisk.version.merge", "GOLD", "token:b", held);
        Assert.Equal(AdminErrorKind.Conflict, same.Error?.Kind);
        Assert.Contains("account:a", same.Error!.Message, StringComparison.Ordinal);
        Assert.True(operations.Start("vdisk.import", "silver", "account:a", held).Ok);
        Assert.Equal(AdminErrorKind.Busy, operations.Start("vdisk.import", "bronze", "account:a", held).Error?.Kind);

        await first.Value.UnderWay;
        Assert.Equal((1, 4), (first.Value.Done, first.Value.Total));
        release.SetResult();
        await WhenAsync(() => operations.List().All(o => o.State == OperationState.Succeeded));
        Assert.Equal("done", first.Value.Result);
        Assert.Equal(4, first.Value.Done);
        Assert.Same(first.Value, operations.Find(first.Value.Id));
        Assert.True(operations.Start("vdisk.import", "bronze", "account:a", held).Ok);
    }

    [Fact]
    public async Task A_refusal_before_the_copy_is_answered_at_once_and_forgotten_and_a_failure_on_the_way_is_kept()
    {
        using var stop = new CancellationTokenSource();
        var operations = new SiteOperations(OperationLimits.Default, TimeProvider.System, stop.Token);
        var refused = await operations.StartAsync("vdisk.import", "gold", "account:a", (_, _) => Task.FromResult<AdminResult<object>>(AdminError.NotFound("no file /x to import")), TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal("no file /x to import", refused.Error?.Message);
        Assert.Empty(operations.List());

        var failed = await operations.StartAsync("vdisk.import", "gold", "account:a", (_, _) => Task.FromResult<AdminResult<object>>(AdminError.Failed("disk full")), TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(failed.Ok);
        Assert.Equal(OperationState.Failed, failed.Value.State);
        Assert.Equal("disk full", failed.Value.Error?.Message);
        Assert.Single(operations.List());
    }

    [Fact]
    public async Task The_server_stopping_ends_what_runs_and_says_so()
    {
        using var stop = new CancellationTokenSource();
        Exception? crashed = null;
        var operations = new SiteOperations(OperationLimits.Default, TimeProvider.System, stop.Token, (_, e) => crashed = e);
        var running = operations.Start("vm.capture", "gold", "account:a", async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        });
        var broken = operations.Start("vdisk.import", "silver", "account:a", (_, _) => throw new IOException("the disk went away"));
        await stop.CancelAsync();
        await operations.WhenIdleAsync(CancellationToken.None);
        Assert.True(running.Value!.StoppedByServer);
        Assert.Contains("the server stopped", running.Value.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(OperationState.Failed, broken.Value!.State);
        Assert.Contains("the disk went away", broken.Value.Error!.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(crashed);
    }

    private static async Task WhenAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
