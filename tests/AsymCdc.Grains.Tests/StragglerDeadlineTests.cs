using AsymCdc.Serving;
namespace AsymCdc.Grains.Tests;

/// <summary>The adaptive straggler deadline, on a hand-driven clock.</summary>
public sealed class StragglerDeadlineTests
{
    private static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(50);

    private static StragglerDeadline Create(ManualTime time) => new(time, 0.95, Floor, Cap, Window, Initial);

    [Fact]
    public void Before_any_sample_it_is_the_configured_deadline()
    {
        Assert.Equal(Initial, Create(new ManualTime()).Current);
    }

    [Fact]
    public void It_follows_the_95th_percentile_of_recent_service_times()
    {
        var deadline = Create(new ManualTime());
        // 160 samples 1..160 ms (a multiple of RecomputeEvery, so the last one is counted): the p95 is the 152nd smallest.
        foreach (var ms in Enumerable.Range(1, 160).Reverse())
        {
            deadline.Record(TimeSpan.FromMilliseconds(ms));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(152), deadline.Current);
    }

    [Fact]
    public void A_fast_cluster_gets_a_shorter_deadline_than_a_slow_one_within_floor_and_cap()
    {
        var fast = Create(new ManualTime());
        var slow = Create(new ManualTime());
        var tiny = Create(new ManualTime());
        for (var i = 0; i < 200; i++)
        {
            fast.Record(TimeSpan.FromMilliseconds(8 + (i % 5)));
            slow.Record(TimeSpan.FromMilliseconds(400 + i));
            tiny.Record(TimeSpan.FromMilliseconds(0.5));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(12), fast.Current);
        Assert.Equal(Cap, slow.Current);
        Assert.Equal(Floor, tiny.Current);
    }

    [Fact]
    public void Samples_older_than_the_window_are_forgotten()
    {
        var time = new ManualTime();
        var deadline = Create(time);
        for (var i = 0; i < 100; i++)
        {
            deadline.Record(TimeSpan.FromMilliseconds(150));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(150), deadline.Current);
        time.Advance(Window - TimeSpan.FromSeconds(1));
        for (var i = 0; i < 100; i++)
        {
            deadline.Record(TimeSpan.FromMilliseconds(20));
        }

        // Half slow, half fast: the p95 is still a slow sample.
        Assert.Equal(TimeSpan.FromMilliseconds(150), deadline.Current);
        time.Advance(TimeSpan.FromSeconds(2));

        // The slow samples aged out without any new call: only the fast ones count.
        Assert.Equal(TimeSpan.FromMilliseconds(20), deadline.Current);
        Assert.Equal(100, deadline.Count);
        time.Advance(Window + TimeSpan.FromSeconds(1));
        Assert.Equal(Initial, deadline.Current);
    }

    [Fact]
    public void The_newest_samples_win_when_more_than_the_capacity_arrive()
    {
        var deadline = Create(new ManualTime());
        for (var i = 0; i < StragglerDeadline.Capacity; i++)
        {
            deadline.Record(TimeSpan.FromMilliseconds(180));
        }

        for (var i = 0; i < StragglerDeadline.Capacity; i++)
        {
            deadline.Record(TimeSpan.FromMilliseconds(30));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(30), deadline.Current);
        Assert.Equal(StragglerDeadline.Capacity, deadline.Count);
    }

    [Theory]
    [InlineData(0.0, 5, 200, "quantile")]
    [InlineData(1.0, 5, 200, "quantile")]
    [InlineData(0.95, 0, 200, "floor")]
    [InlineData(0.95, 50, 20, "floor")]
    public void Bad_settings_are_refused_with_a_clear_message(double quantile, int floorMs, int capMs, string named)
    {
        var e = Assert.ThrowsAny<ArgumentOutOfRangeException>(() =>
            new StragglerDeadline(new ManualTime(), quantile, TimeSpan.FromMilliseconds(floorMs), TimeSpan.FromMilliseconds(capMs), Window, Initial));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }
}
