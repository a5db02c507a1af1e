using AsymCdc.Simulation;
using AsymCdc.Serving;
using AsymCdc.Abstractions;
using AsymCdc.Cli;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AsymCdc.Grains.Tests;

public sealed class PureLogicTests
{
    [Fact]
    public void Stragglers_are_off_by_default()
    {
        var injector = new StragglerInjector(new StragglerOptions(), siloSalt: 11111);

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.Equal(TimeSpan.Zero, injector.NextDelay()));
    }

    [Fact]
    public void The_same_seed_and_silo_draw_the_same_stragglers()
    {
        var options = new StragglerOptions { Rate = 0.3, Delay = TimeSpan.FromMilliseconds(7), Seed = 5 };
        var a = new StragglerInjector(options, 30001);
        var b = new StragglerInjector(options, 30001);

        var drawsA = Enumerable.Range(0, 200).Select(_ => a.NextDelay()).ToArray();
        var drawsB = Enumerable.Range(0, 200).Select(_ => b.NextDelay()).ToArray();

        Assert.Equal(drawsA, drawsB);
        Assert.InRange(drawsA.Count(d => d > TimeSpan.Zero), 30, 90);
    }

    [Fact]
    public void A_slowed_silo_delays_every_call()
    {
        var injector = new StragglerInjector(new StragglerOptions { SiloSlowdown = TimeSpan.FromMilliseconds(3) }, 1);

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(TimeSpan.FromMilliseconds(3), injector.NextDelay()));
    }

    [Fact]
    public void A_periodic_slowdown_is_slow_first_and_the_next_period_is_where_a_run_starts_to_meet_it_whole()
    {
        var (slowFor, period) = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6));
        Assert.True(StragglerInjector.InSlowStretch(TimeSpan.FromSeconds(12), slowFor, period));
        Assert.True(StragglerInjector.InSlowStretch(TimeSpan.FromSeconds(13.9), slowFor, period));
        Assert.False(StragglerInjector.InSlowStretch(TimeSpan.FromSeconds(14), slowFor, period));
        Assert.False(StragglerInjector.InSlowStretch(TimeSpan.FromSeconds(17.9), slowFor, period));

        Assert.Equal(TimeSpan.FromSeconds(4.5), StragglerInjector.UntilNextPeriod(TimeSpan.FromSeconds(13.5), period));
        Assert.Equal(period, StragglerInjector.UntilNextPeriod(TimeSpan.FromSeconds(12), period));
        var next = TimeSpan.FromSeconds(13.5) + StragglerInjector.UntilNextPeriod(TimeSpan.FromSeconds(13.5), period);
        Assert.True(StragglerInjector.InSlowStretch(next, slowFor, period));
    }

    [Fact]
    public void The_hedging_percentile_follows_the_observed_latencies()
    {
        var window = new LatencyWindow(0.95);
        Assert.Equal(42, window.Percentile(fallback: 42));

        // 128 samples: a multiple of the recompute interval, so the cached percentile is current.
        for (var i = 1; i <= 128; i++)
        {
            window.Record(i);
        }

        Assert.Equal(122, window.Percentile(fallback: 0));
    }

    [Property]
    public Property A_percentile_is_a_sample_with_enough_samples_at_or_below_it(NonEmptyArray<NormalFloat> samples, byte p)
    {
        var sorted = samples.Get.Select(s => s.Get).Order().ToList();
        var percentile = (p % 100 + 1) / 100.0;

        var value = LatencySummary.Percentile(sorted, percentile);

        var atOrBelow = sorted.Count(s => s <= value);
        return (sorted.Contains(value) && atOrBelow >= percentile * sorted.Count).ToProperty();
    }

    [Fact]
    public void Admission_refuses_beyond_max_in_flight_with_overloaded()
    {
        var admission = new AdmissionControl(Microsoft.Extensions.Options.Options.Create(new ServingOptions { MaxInFlight = 2 }));

        Assert.Null(admission.TryEnter());
        Assert.Null(admission.TryEnter());
        var refused = admission.TryEnter();
        admission.Exit();

        Assert.Equal(PredictionErrorCode.Overloaded, refused?.Code);
        Assert.Contains("MaxInFlight", refused!.Message);
        Assert.Null(admission.TryEnter());
        Assert.Equal(2, admission.InFlight);
    }

    [Fact]
    public async Task A_drain_refuses_new_queries_and_completes_when_the_last_one_leaves()
    {
        var admission = new AdmissionControl(Microsoft.Extensions.Options.Options.Create(new ServingOptions()));
        Assert.Null(admission.TryEnter());

        var drain = admission.DrainAsync(TimeSpan.FromMinutes(5), TimeProvider.System);

        Assert.False(drain.IsCompleted);
        Assert.Equal(PredictionErrorCode.Unavailable, admission.TryEnter()?.Code);
        admission.Exit();
        Assert.True(await drain);
    }

    [Fact]
    public void Parity_group_keys_round_trip()
    {
        var key = ParityGroupKey.Format("digits-mlp", ServingMode.AsymCdcCompact, 3, 1);

        Assert.Equal("digits-mlp/asymcdc-compact/3/1", key);
        Assert.Equal(("digits-mlp", ServingMode.AsymCdcCompact, 3, 1), ParityGroupKey.Parse(key));
        Assert.Throws<ArgumentException>(() => ParityGroupKey.Parse("fmnist-inn/asymcdc-compact/three/1"));
        Assert.Throws<ArgumentException>(() => ParityGroupKey.Parse("asymcdc-compact/3/1"));
    }

    [Fact]
    public void A_summary_counts_outcomes_and_extra_work()
    {
        QueryRecord[] records =
        [
            new(QueryOutcome.Answered, 5, false, true),
            new(QueryOutcome.Answered, 7, true, false),
            new(QueryOutcome.Error, 1, false, false),
            new(QueryOutcome.Lost, 7000, false, false),
        ];

        var r = ScenarioResults.Summarise("s", 0.05, "asymcdc-exact", 2, 4, records, TimeSpan.FromSeconds(1), workerCalls: 6);

        Assert.Equal((2, 1, 1, 1), (r.Answered, r.Errors, r.Lost, r.Reconstructed));
        Assert.Equal(0.5, r.Accuracy);
        Assert.Equal(0.5, r.ExtraWorkRatio);
        Assert.Equal(5, r.P50Ms);
        Assert.Equal(7, r.P99Ms);
    }
}
