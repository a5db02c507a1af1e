using AsymCdc.Cli;
using AsymCdc.Cli.Cluster;

namespace AsymCdc.Reliability.Tests;

/// <summary>The elastic drill's pure parts: reading the autoscaling signal from Prometheus text, and the checks.</summary>
public sealed class ElasticReportTests
{
    [Fact]
    public void The_queue_delay_signal_is_the_histograms_sum_over_its_count_across_models()
    {
        const string text = """
            # TYPE asymcdc_worker_queue_delay_seconds histogram
            asymcdc_worker_queue_delay_seconds_bucket{model="fmnist-inn",le="0.005"} 90 1733500000000
            asymcdc_worker_queue_delay_seconds_sum{model="fmnist-inn"} 0.25 1733500000000
            asymcdc_worker_queue_delay_seconds_count{model="fmnist-inn"} 100 1733500000000
            asymcdc_worker_queue_delay_seconds_sum{model="fmnist-parm-k2"} 0.15
            asymcdc_worker_queue_delay_seconds_count{model="fmnist-parm-k2"} 100
            asymcdc_worker_queue_delay_seconds_other 7
            asymcdc_worker_calls_total{mode="none"} 5
            """;

        var before = new WorkerMetrics(50, 0.1);
        var window = WorkerMetrics.Parse(text) - before;

        Assert.Equal(150, window.Calls);
        Assert.Equal(0.3, window.QueueDelaySeconds, 9);
        Assert.Equal(0.002, window.MeanQueueDelaySeconds, 9);
        Assert.Equal(0, new WorkerMetrics(0, 0).MeanQueueDelaySeconds);
    }

    [Fact]
    public void A_worker_standing_for_an_accelerator_runs_one_batch_at_a_time_as_a_gpu_worker_does()
    {
        var emulated = ElasticRunOptions.For(WorkerCpuScope.Process).ClusterOptions();
        var unlimited = new ElasticRunOptions { WorkerCpu = null }.ClusterOptions();

        Assert.Equal("1", emulated.Settings["AsymCdc:Inference:Instances"]);
        Assert.Equal("0", emulated.Settings["AsymCdc:Inference:ParityInstances"]);
        Assert.Equal(WorkerCpuScope.Process, emulated.WorkerCpuScope);
        Assert.DoesNotContain("AsymCdc__Inference__DedicatedThreads", ProcessCluster.SiloEnvironment(emulated, "/models", []).Keys);
        var accelerators = new ElasticRunOptions().ClusterOptions();
        Assert.Equal(WorkerCpuScope.Runners, accelerators.WorkerCpuScope);
        Assert.Equal("true", ProcessCluster.SiloEnvironment(accelerators, "/models", [])["AsymCdc__Inference__DedicatedThreads"]); // what the runner-thread limit finds
        Assert.False(unlimited.Settings.ContainsKey("AsymCdc:Inference:Instances")); // the product's default, 2 on a CPU
    }

    [Fact]
    public void The_checks_compare_each_scaling_phase_with_the_steady_one_before_and_judge_the_signal()
    {
        var phases = new[]
        {
            Phase("steady", 4, 2, 150, p99: 10, queueDelay: 0.001),
            Phase("workers 4->6", 6, 2, 150, p99: 19, queueDelay: 0.001, share: 0.8),
            Phase("workers 6->3", 3, 2, 150, p99: 21, queueDelay: 0.001),
            Phase("overload", 3, 2, 600, p99: 400, queueDelay: 0.02),
            Phase("overload, workers 3->6", 6, 2, 600, p99: 300, queueDelay: 0.025, share: 0.9),
            Phase("overload, workers 6->8", 8, 2, 600, p99: 30, queueDelay: 0.004, share: 0.3),
        };

        var checks = ElasticRun.Checks(phases);

        Assert.True(checks["workers 4->6: p99 <= 2x steady"]);
        Assert.False(checks["workers 6->3: p99 <= 2x steady"]);
        Assert.True(checks["workers 4->6: min worker share >= 0.5"]);
        Assert.False(checks["overload, workers 6->8: min worker share >= 0.5"]);
        Assert.True(checks["overload: queue delay above the HPA target"]);
        Assert.False(checks["overload, workers 3->6: queue delay falls"]); // an intermediate step must lower the signal
        Assert.True(checks["overload, workers 6->8: queue delay below the HPA target"]); // the last one must reach the target
        Assert.True(checks["overload, workers 3->6: p99 <= 2x overload"]); // scaling out under overload is judged too
        Assert.True(checks["overload, workers 6->8: p99 <= 2x overload"]);
        Assert.Equal(10, checks.Count);
    }

    [Fact]
    public void The_drill_judges_the_signal_against_the_HPA_target_the_chart_ships()
    {
        var values = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(TestEnvironment.ModelRepository)!, "helm", "asymcdc", "values.yaml"));
        var target = values.Select(l => l.Trim()).Single(l => l.StartsWith("targetQueueDelay:", StringComparison.Ordinal));

        // A Kubernetes quantity: "5m" is 5 milli-units, here seconds.
        var quantity = target["targetQueueDelay:".Length..].Trim().Trim('"');
        var seconds = quantity.EndsWith('m') ? double.Parse(quantity[..^1], System.Globalization.CultureInfo.InvariantCulture) / 1000
            : double.Parse(quantity, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(ElasticRunOptions.HpaTargetQueueDelaySeconds, seconds, 9);
        Assert.Contains($"minReplicas: {ElasticRunOptions.HpaMinReplicas}", values.Select(l => l.Trim()));
        Assert.Contains($"maxReplicas: {ElasticRunOptions.HpaMaxReplicas}", values.Select(l => l.Trim()));
    }

    [Theory]
    [InlineData(4, 0.0647, 12)]  // 13x the target: as many as the chart allows
    [InlineData(4, 0.0117, 10)]
    [InlineData(6, 0.0052, 6)]   // within the HPA's 10% tolerance
    [InlineData(6, 0.0004, 3)]   // idle: down to minReplicas
    public void The_report_says_what_the_charts_HPA_would_ask_for(int workers, double queueDelay, int desired) =>
        Assert.Equal(desired, ElasticRun.HpaDesiredReplicas(workers, queueDelay));

    [Theory]
    [InlineData(0.1, 10_000, 1_000)]   // the kernel's smallest quota is 1 ms: the period stretches to fit it
    [InlineData(0.5, 2_000, 1_000)]    // the shortest period: a throttled worker waits at most 2 ms
    [InlineData(2.0, 2_000, 4_000)]
    [InlineData(0.004, 100_000, 1_000)] // below 1 % the kernel's default period caps it (the limit is then 1 %)
    public void A_worker_CPU_limit_uses_the_shortest_period_the_kernel_allows(double cores, int period, long quota) =>
        Assert.Equal((period, quota), CpuQuota.PeriodAndQuota(cores));

    [Fact]
    public void CFS_throttling_is_read_from_cpu_stat_of_either_cgroup_version()
    {
        var v1 = CfsThrottling.Parse("nr_periods 1000\nnr_throttled 850\nthrottled_time 4200000000\nnr_bursts 0\nburst_time 0\n", v2: false);
        Assert.Equal(new CfsThrottling(1000, 850, TimeSpan.FromSeconds(4.2)), v1);
        Assert.Equal(0.85, v1.ThrottledShare, 6);
        var v2 = CfsThrottling.Parse("usage_usec 9000\nuser_usec 8000\nsystem_usec 1000\nnr_periods 200\nnr_throttled 50\nthrottled_usec 125000\n", v2: true);
        Assert.Equal(new CfsThrottling(200, 50, TimeSpan.FromMilliseconds(125)), v2);
        Assert.Equal(0, default(CfsThrottling).ThrottledShare);
    }

    [Fact]
    public void The_throttled_share_is_the_mean_over_workers_limited_throughout_the_window()
    {
        var before = new Dictionary<string, CfsThrottling>
        {
            ["worker-0"] = new(100, 10, TimeSpan.Zero),
            ["worker-1"] = new(500, 100, TimeSpan.Zero),
            ["worker-2"] = new(40, 40, TimeSpan.Zero),    // no period ran in the window: left out
        };
        var after = new Dictionary<string, CfsThrottling>
        {
            ["worker-0"] = new(1100, 910, TimeSpan.Zero), // 900 of 1000
            ["worker-1"] = new(1500, 600, TimeSpan.Zero), // 500 of 1000
            ["worker-2"] = new(40, 40, TimeSpan.Zero),
            ["worker-3"] = new(300, 300, TimeSpan.Zero),  // limited during the window only: left out
        };
        Assert.Equal(0.7, ElasticRun.ThrottledShare(before, after)!.Value, 6);
        Assert.Null(ElasticRun.ThrottledShare(new Dictionary<string, CfsThrottling>(), after));
    }

    [Fact]
    public void The_records_are_one_csv_line_per_query_with_its_phase_quoted()
    {
        var result = new ElasticRunResult(2, 1, 1, 0, ElasticRunOptions.HpaTargetQueueDelaySeconds, 0.04, WorkerCpuScope.Runners, 0, 0, [],
            new Dictionary<string, bool>(), [])
        {
            Records =
            [
                ("steady", new ChaosRecord(1.5, 2.25, QueryOutcome.Answered, null, AsymCdc.Abstractions.ServedBy.ReconstructedCompact, 2, 7, "worker-1", "frontend-0")),
                ("overload, workers 4->8", new ChaosRecord(20000, 5001, QueryOutcome.Error, "DeadlineExceeded")),
            ],
        };

        Assert.Equal(
        [
            "phase,sent_ms,latency_ms,outcome,error,served_by,server_ms,group,worker,frontend",
            "\"steady\",1.5,2.25,Answered,,reconstructed-compact,2,7,worker-1,frontend-0",
            "\"overload, workers 4->8\",20000,5001,Error,DeadlineExceeded,,0,0,,",
        ], result.RecordsCsv());
        Assert.DoesNotContain("Records", result.ToJson(), StringComparison.Ordinal);
    }

    private static ElasticPhase Phase(string name, int workers, int frontends, double rate, double p99, double queueDelay, double share = 1) =>
        new(name, workers, frontends, rate, 0, 100, 100, 0, 0, new Dictionary<string, int>(), 1, p99, p99, rate, queueDelay,
            queueDelay > ElasticRunOptions.HpaTargetQueueDelaySeconds, ElasticRun.HpaDesiredReplicas(workers, queueDelay), share, new Dictionary<string, double>(), []);
}
