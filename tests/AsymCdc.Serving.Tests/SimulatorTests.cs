using AsymCdc.Serving;
using AsymCdc.Simulation;

namespace AsymCdc.Serving.Tests;

public class SimulatorTests
{
    private static SimulationConfig Small(double stragglers = 0.05) => Scenarios.Gpu100Stragglers5Pct with
    {
        Workers = 20,
        Queries = 5000,
        Loads = [0.5],
        Faults = new FaultModel { StragglerRate = stragglers, StragglerDelayMedians = 20 },
    };

    [Fact]
    public void The_same_seed_gives_byte_identical_results_and_another_seed_does_not()
    {
        var config = Small();
        var first = new Simulator(config).Run().ToJson();
        var second = new Simulator(config).Run().ToJson();
        Assert.Equal(first, second);
        Assert.NotEqual(first, new Simulator(config with { Seed = 2 }).Run().ToJson());
    }

    [Fact]
    public void A_slow_node_slow_in_latency_only_delays_its_answers_without_building_a_queue()
    {
        // Every worker slow, the detector off, so each answer shows what the fault does to it.
        var faultless = Small(stragglers: 0) with { Modes = ["none"], Policy = Small().Policy with { SlowWorkerFactor = 0 } };
        var latency = faultless with { Faults = new FaultModel { SlowNodes = 20, SlowDelayMedians = 20 } };
        var throughput = faultless with { Faults = new FaultModel { SlowNodes = 20, SlowFactor = 20 } };

        var before = new Simulator(faultless).Run();
        var late = new Simulator(latency).Run();
        var slow = new Simulator(throughput).Run();

        var delay = 20 * late.Config.MedianServiceMs;
        var (b, l, t) = (before.Results.Single(), late.Results.Single(), slow.Results.Single());
        // Each answer is the delay later, and no later: the delay holds no worker, so nothing queues behind it.
        Assert.InRange(l.P50Ms - b.P50Ms, 0.99 * delay, 1.01 * delay);
        Assert.InRange(l.P999Ms - b.P999Ms, 0.99 * delay, 1.01 * delay);
        // Slowed 20x in throughput instead, each batch holds its worker 20x as long and the calls behind it queue.
        Assert.True(t.P999Ms > 1.5 * l.P999Ms, $"throughput-slow p99.9 {t.P999Ms} ms against latency-slow {l.P999Ms} ms");
        Assert.Contains("slow_delay_medians", new SimulationConfig { Faults = new FaultModel { SlowDelayMedians = -1 } }.Problem(), StringComparison.Ordinal);
    }

    [Fact]
    public void Background_load_slows_its_share_of_the_workers_together_inside_its_window_only()
    {
        // `none` with the detector off: each answer shows whether its worker was slowed. 5,000 queries take about 1.1 s.
        var faultless = Small(stragglers: 0) with { Modes = ["none"], Policy = Small().Policy with { SlowWorkerFactor = 0 } };
        FaultModel Background(double seconds, double period) => new()
        {
            BackgroundFraction = 0.25, BackgroundFactor = 5, BackgroundSeconds = seconds, BackgroundPeriodSeconds = period,
        };

        var before = new Simulator(faultless).Run().Results.Single();
        // The window opens half a period in: [0.5 s, 1 s) of a 1 s period, about half of the run.
        var during = new Simulator(faultless with { Faults = Background(0.5, 1) }).Run().Results.Single();
        // A 100 s period's window opens at 50 s, after the run.
        var outside = new Simulator(faultless with { Faults = Background(0.5, 100) }).Run().Results.Single();

        // A quarter of the workers for half the time: about 12% of the answers 5x slow, so the median stays and p99 moves.
        Assert.InRange(during.P50Ms, 0.95 * before.P50Ms, 1.05 * before.P50Ms);
        Assert.True(during.P99Ms > 3 * before.P99Ms, $"p99 {during.P99Ms} ms under background load against {before.P99Ms} ms without");
        Assert.Equal((before.P50Ms, before.P99Ms, before.P999Ms), (outside.P50Ms, outside.P99Ms, outside.P999Ms));
    }

    [Fact]
    public void Every_mode_answers_every_query_and_the_coded_modes_rebuild_about_the_stragglers()
    {
        var report = new Simulator(Small()).Run();
        Assert.Equal(ServingStrategies.Modes, report.Results.Select(r => r.Mode));
        Assert.All(report.Results, r => Assert.Equal((5000, 0, 0), (r.Answered, r.Errors, r.Lost)));
        foreach (var coded in report.Results.Where(r => r.ExtraWorkRatio is > 0.45 and < 0.55))
        {
            // A data call straggles with probability 0.05: about that share is rebuilt.
            Assert.InRange(coded.Reconstructed, 150, 350);
        }

        var none = report.Results.Single(r => r.Mode == "none");
        var compact = report.Results.Single(r => r.Mode == "asymcdc-compact");
        Assert.True(compact.P99Ms < none.P99Ms / 3, $"compact p99 {compact.P99Ms} vs none {none.P99Ms}");
        Assert.Equal(1.0, report.Results.Single(r => r.Mode == "replication").ExtraWorkRatio);
    }

    [Fact]
    public void Without_faults_every_mode_answers_in_about_one_service_time_at_moderate_load()
    {
        var report = new Simulator(Small(stragglers: 0)).Run();
        Assert.All(report.Results, r => Assert.InRange(r.P50Ms, 0.9, 1.4));
        // The default trigger (p90 of own answers) rebuilds a few of the slowest answers whose k others are in; a fixed
        // deadline of 3 medians rebuilds none without a fault.
        Assert.All(report.Results.Where(r => r.Mode is "asymcdc-compact" or "parm"), r => Assert.InRange(r.Reconstructed, 0, 500));
        var fixedDeadline = Small(stragglers: 0) with { Policy = Small().Policy with { Deadline = "fixed" } };
        Assert.All(new Simulator(fixedDeadline).Run().Results.Where(r => r.Mode is "asymcdc-compact" or "parm"), r => Assert.Equal(0, r.Reconstructed));
    }

    [Fact]
    public void A_dead_node_loses_no_query_and_a_coded_mode_turns_its_calls_into_reconstructions()
    {
        var config = Small(stragglers: 0) with
        {
            Modes = ["none", "asymcdc-compact"],
            Faults = new FaultModel { Deaths = 2, DeathAtFraction = 0.3, DetectionMs = 50, ReplaceSeconds = 0.05 },
        };
        var report = new Simulator(config).Run();
        Assert.All(report.Results, r => Assert.Equal(0, r.Lost));
        var none = report.Results.Single(r => r.Mode == "none");
        var compact = report.Results.Single(r => r.Mode == "asymcdc-compact");
        Assert.True(none.Errors > 0, "calls to a dead node fail until it is detected");
        Assert.Equal(0, compact.Errors);
        Assert.True(compact.Reconstructed > 0);
    }

    private static (int K, string? Coder) KAndCoder(SimulationConfig config)
    {
        var (k, coder, _) = config.AutoGroup();
        return (k, coder);
    }

    [Fact]
    public void Auto_spends_no_more_than_its_budget_where_groups_are_sealed_before_they_fill_and_still_rescues_its_stragglers()
    {
        // About 18 queries/s over 2 shards: nearly every group is sealed alone when its 5 ms window ends.
        var config = Small() with { Loads = [0.002], Modes = ["none", "asymcdc-compact", "auto"] };

        var results = new Simulator(config).Run().Results;

        var (none, compact, auto) = (results.Single(r => r.Mode == "none"), results.Single(r => r.Mode == "asymcdc-compact"), results.Single(r => r.Mode == "auto"));
        Assert.True(compact.ExtraWorkRatio > 0.9, $"compact spent {compact.ExtraWorkRatio} extra calls per query: its groups were not sealed alone");
        // One parity per two queries (1/k), whatever the groups, and a few calls of the balance's capacity.
        Assert.InRange(auto.ExtraWorkRatio, 0.4, 0.5 + 2.0 / config.Queries);
        Assert.Equal((config.Queries, 0, 0), (auto.Answered, auto.Errors, auto.Lost));
        // A straggler in a group without a parity is hedged: the tail stays far below the straggling delay.
        Assert.True(auto.P99Ms < none.P99Ms / 4, $"auto p99 {auto.P99Ms} ms against none's {none.P99Ms}");
    }

    [Fact]
    public void Auto_codes_with_parm_where_its_agreement_reaches_the_floor_and_with_the_compact_decoder_where_not()
    {
        var config = Small() with { Modes = ["auto"] };
        var strict = config with { AutoMinAgreement = 0.9 };

        var withParm = new Simulator(config).Run().Results.Single();
        var withCompact = new Simulator(strict).Run().Results.Single();

        Assert.Equal((2, "parm"), KAndCoder(config));
        Assert.Equal((2, "asymcdc-compact"), KAndCoder(strict));
        Assert.Equal((4, "asymcdc-compact"), KAndCoder(config with { RedundancyBudget = 0.25 })); // 1/2 is over 0.25
        // Each rebuild takes its coder's decode time (decode_ms: parm 0.03, asymcdc-compact 0.27), and at least that.
        Assert.InRange(withParm.DecodeP50Ms!.Value, config.Service.DecodeMs["parm"], config.Service.DecodeMs["asymcdc-compact"] - 0.01);
        Assert.True(withCompact.DecodeP50Ms >= config.Service.DecodeMs["asymcdc-compact"], $"compact decode p50 {withCompact.DecodeP50Ms}");
        Assert.Contains("auto_min_agreement", (config with { AutoMinAgreement = 2 }).Problem());
    }

    [Fact]
    public void A_bad_config_is_refused_with_the_value_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new Simulator(Small() with { Modes = ["none", "magic"] }).Run());
        Assert.Contains("unknown mode 'magic'", e.Message);
        Assert.Contains("workers is 0", Assert.Throws<ArgumentException>(() => new Simulator(Small() with { Workers = 0 }).Run()).Message);
        Assert.Contains("straggler_rate", new SimulationConfig { Faults = new FaultModel { StragglerRate = 2 } }.Problem());
        Assert.Contains("trigger_quantile 1", new SimulationConfig { Policy = new PolicyModel { TriggerQuantile = 1 } }.Problem());
        Assert.Contains("trigger_factor 0", new SimulationConfig { Policy = new PolicyModel { TriggerFactor = 0 } }.Problem());
    }

    [Fact]
    public void The_default_trigger_quantile_is_the_highest_that_stays_among_healthy_answers_at_5_percent_stragglers()
    {
        ScenarioResult Run(string mode, double q) => new Simulator(Small() with { Modes = [mode], Policy = Small().Policy with { TriggerQuantile = q } })
            .Run().Results.Single();

        var (parmEarly, parmUsual) = (Run("parm", 0.5), Run("parm", 0.9));
        var (compactUsual, compactLate) = (Run("asymcdc-compact", 0.9), Run("asymcdc-compact", 0.95));

        // Lower: more answers rebuilt approximately (a decode as quick as ParM's beats the healthy answer it replaces).
        Assert.True(parmEarly.Reconstructed > 2 * parmUsual.Reconstructed, $"ParM rebuilt at q 0.5: {parmEarly.Reconstructed}, at 0.9: {parmUsual.Reconstructed}");
        // Higher: the 95th percentile of own-answer times is a straggler's when 5% of calls straggle, so the rescue waits for it.
        Assert.True(compactLate.P99Ms > 5 * compactUsual.P99Ms, $"compact p99 at q 0.95: {compactLate.P99Ms} ms, at 0.9: {compactUsual.P99Ms} ms");
    }

    [Fact]
    public void Load_is_a_fraction_of_the_capacity_the_heaviest_mode_leaves()
    {
        var config = Small() with { Modes = ["none", "asymcdc-compact"] };
        var service = new ServiceTimes(config.Service);
        Assert.Equal(20 * 1000 / 1.11 / 1.5, Simulator.Capacity(config, service), 3);
        Assert.Equal(20 * 1000 / 1.11 / 2, Simulator.Capacity(config with { Modes = ["replication"] }, service), 3);
        // Two shared cores: each query's core time is its caller's side plus each worker call's (replication: two).
        var shared = Scenarios.Cpu4Workers with { Service = Scenarios.Cpu4Workers.Service with { CallerCpuMs = 1 } };
        var mean = shared.Service.CoreMs!.Value; // each call holds a core for its core time only
        Assert.Equal(2 * 1000 / (1 + (2 * mean)), Simulator.Capacity(shared, new ServiceTimes(shared.Service)), 3);
    }

    [Fact]
    public void The_gpu_model_interpolates_the_batch_table_and_batches_what_has_queued()
    {
        var times = new ServiceTimes(new ServiceModel { Kind = "gpu" });
        Assert.Equal(1.110, times.BatchMs(1), 6);
        Assert.Equal(1.511, times.BatchMs(256), 6);
        Assert.InRange(times.BatchMs(160), 1.096, 1.511);
    }

    [Fact]
    public void Virtual_timers_fire_in_time_order_and_a_disposed_one_never_fires()
    {
        var time = new VirtualTime();
        var fired = new List<int>();
        time.CreateTimer(_ => fired.Add(2), null, TimeSpan.FromMilliseconds(2), Timeout.InfiniteTimeSpan);
        time.CreateTimer(_ => fired.Add(1), null, TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        time.CreateTimer(_ => fired.Add(3), null, TimeSpan.FromMilliseconds(1.5), Timeout.InfiniteTimeSpan).Dispose();
        while (time.Step())
        {
        }

        Assert.Equal([1, 2], fired);
        Assert.Equal(TimeSpan.FromMilliseconds(2).Ticks, time.Now);
    }

    [Theory]
    [InlineData(4, 3)]
    [InlineData(4, 2)]
    [InlineData(6, 3)]
    [InlineData(5, 3)]
    [InlineData(4, 1)]
    [InlineData(100, 3)]
    public void The_picker_gives_every_worker_every_slot_equally_often(int workers, int count)
    {
        var picker = new WorkerPicker<int>();
        var list = Enumerable.Range(0, workers).ToArray();
        var slots = new int[workers, count];
        var picks = workers * count * workers; // whole rotations
        for (var i = 0; i < picks; i++)
        {
            var picked = picker.Pick(list, count);
            Assert.Equal(count, picked.Distinct().Count());
            for (var s = 0; s < count; s++)
            {
                slots[picked[s], s]++;
            }
        }

        for (var w = 0; w < workers; w++)
        {
            for (var s = 0; s < count; s++)
            {
                Assert.Equal(picks / workers, slots[w, s]);
            }
        }
    }

    [Fact]
    public void The_picker_spreads_consecutive_groups_over_disjoint_workers_and_rotates_every_slot()
    {
        // Six workers, groups of three: consecutive picks do not share workers, and over the wraps every worker takes
        // the parity slot (the last), not only every third one.
        var picker = new WorkerPicker<int>();
        int[] workers = [0, 1, 2, 3, 4, 5];
        var a = picker.Pick(workers, 3);
        var b = picker.Pick(workers, 3);
        Assert.Empty(a.Intersect(b));
        var parity = new HashSet<int> { a[^1], b[^1] };
        for (var i = 0; i < 12; i++)
        {
            parity.Add(picker.Pick(workers, 3)[^1]);
        }

        Assert.Equal(6, parity.Count);
    }
}
