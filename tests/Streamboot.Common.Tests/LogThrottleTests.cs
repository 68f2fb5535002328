namespace Streamboot.Tests;

public class LogThrottleTests
{
    [Fact]
    public void A_flood_gets_the_allowed_lines_then_silence_then_the_count_of_what_was_held_back()
    {
        var time = new StepTime();
        var throttle = new LogThrottle(3, TimeSpan.FromMinutes(1), time);
        var written = 0;
        for (var i = 0; i < 10_000; i++)
        {
            if (throttle.TryAcquire(out var suppressed))
            {
                Assert.Equal(0, suppressed);
                written++;
            }
        }

        Assert.Equal(3, written);
        Assert.Equal(9_997, throttle.Suppressed);

        // Within the same minute: still nothing.
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(throttle.TryAcquire(out _));

        // The next minute's first line reports what was held back.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(throttle.TryAcquire(out var held));
        Assert.Equal(9_998, held);
        Assert.Equal(0, throttle.Suppressed);
    }

    [Fact]
    public void Lines_below_the_rate_all_pass()
    {
        var time = new StepTime();
        var throttle = new LogThrottle(2, TimeSpan.FromSeconds(10), time);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(throttle.TryAcquire(out var suppressed));
            Assert.Equal(0, suppressed);
            time.Advance(TimeSpan.FromSeconds(5));
        }
    }

    private sealed class StepTime : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
