using Streamboot.Sessions.Live;

namespace Streamboot.Sessions.Tests.Live;

public sealed class DeviceGatesTests
{
    [Fact]
    public async Task One_device_takes_turns_while_other_devices_never_wait_for_it()
    {
        var gates = new DeviceGates();
        var first = await gates.EnterAsync(1);

        // The same device waits for the holder...
        var second = gates.EnterAsync(1);
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        // ...while every other device gets its turn at once, whatever its id
        // (a fixed set of hashed gates made ids 64 apart wait for each other).
        foreach (var other in new long[] { 2, 65, 129, 1 + 4096 })
        {
            var held = gates.EnterAsync(other);
            Assert.True(held.IsCompletedSuccessfully, $"device {other} waited for device 1");
            (await held).Dispose();
        }

        first.Dispose();
        using (await second.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(1, gates.Count);
        }

        // Nobody holds or waits: nothing is kept.
        Assert.Equal(0, gates.Count);
    }

    [Fact]
    public async Task A_waiter_that_gives_up_leaves_nothing_behind_and_a_second_dispose_changes_nothing()
    {
        var gates = new DeviceGates();
        var held = await gates.EnterAsync(7);
        using var cancel = new CancellationTokenSource();
        var waiting = gates.EnterAsync(7, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, gates.Count);

        held.Dispose();
        held.Dispose();
        Assert.Equal(0, gates.Count);

        // The turn is free again, once.
        using var again = await gates.EnterAsync(7);
        Assert.False(gates.EnterAsync(7).IsCompleted);
    }
}
