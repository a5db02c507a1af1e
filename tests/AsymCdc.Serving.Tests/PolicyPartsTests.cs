using AsymCdc.Serving;
using Microsoft.Extensions.Time.Testing;

namespace AsymCdc.Serving.Tests;

public class PolicyPartsTests
{
    [Fact]
    public void The_picker_goes_round_robin_over_distinct_workers()
    {
        var picker = new WorkerPicker<string>();
        string[] workers = ["a", "b", "c", "d"];
        var first = picker.Pick(workers, 3);
        var second = picker.Pick(workers, 3);
        Assert.Equal(3, first.Distinct().Count());
        Assert.Equal(workers[(Array.IndexOf(workers, first[^1]) + 1) % workers.Length], second[0]); // the next run of workers
    }

    [Fact]
    public void The_picker_passes_over_suspects_while_enough_others_remain_and_puts_newcomers_last()
    {
        var picker = new WorkerPicker<string>();
        string[] workers = ["a", "b", "c", "d"];
        for (var i = 0; i < 8; i++)
        {
            Assert.DoesNotContain("b", picker.Pick(workers, 3, isSuspected: w => w == "b"));
            Assert.Equal(4, picker.Pick(workers, 4, isSuspected: w => w == "b").Distinct().Count()); // too few trusted: keep distinct
            var picked = picker.Pick(workers, 4, isNewcomer: w => w == "a");
            Assert.Equal("a", picked[^1]);
        }
    }

    [Fact]
    public void The_picker_wraps_when_there_are_fewer_workers_than_slots_and_refuses_none()
    {
        var picker = new WorkerPicker<int>();
        Assert.Equal(3, picker.Pick([7], 3).Count(w => w == 7));
        Assert.Throws<ArgumentException>(() => picker.Pick([], 1));
    }

    [Fact]
    public void A_fixed_trigger_with_a_median_factor_follows_a_uniformly_slow_cluster_but_never_drops_below_its_floor()
    {
        var trigger = ReconstructionTrigger.Fixed(TimeSpan.FromMilliseconds(10), medianFactor: 3);
        Assert.Equal(TimeSpan.FromMilliseconds(10), trigger.Current);
        for (var i = 0; i < 50; i++)
        {
            trigger.OwnAnswered(TimeSpan.FromMilliseconds(20));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(60), trigger.Current);
        var plain = ReconstructionTrigger.Fixed(TimeSpan.FromMilliseconds(10));
        plain.OwnAnswered(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(10), plain.Current);
    }

    [Fact]
    public void An_adaptive_trigger_follows_the_quantile_of_the_service_times_its_policy_sees()
    {
        var clock = new FakeTimeProvider();
        var quantile = new StragglerDeadline(clock, 0.5, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        var trigger = ReconstructionTrigger.Adaptive(quantile);
        var host = new FakeHost();
        var strategy = ServingStrategies.Create("none", new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, TimeSpan.FromMilliseconds(50), 1),
            host, host, trigger);
        for (var i = 0; i < 20; i++)
        {
            strategy.Submit(FakeHost.Query(i));
            host.Advance(7);
            host.Answer(i);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(7), trigger.Current);
    }
}
