using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Grains;
using AsymCdc.Inference.Data;

namespace AsymCdc.Cli.Cluster;

/// <summary>One step of an elastic drill: scale to these silo counts (null: as they are), then hold the load for a while.</summary>
public sealed record ElasticStep(string Name, int? Workers, int? Frontends, bool Overload = false);

/// <summary>What an elastic drill runs (<c>asymcdc elastic</c>'s options, checked there).</summary>
public sealed class ElasticRunOptions
{
    /// <summary>The chart's HPA target (helm/asymcdc values <c>workers.autoscaling.targetQueueDelay</c>, 5m = 5 ms);
    /// a Deployment test keeps the two equal.</summary>
    public const double HpaTargetQueueDelaySeconds = 0.005;

    /// <summary>The chart's worker HPA bounds (<c>workers.autoscaling.minReplicas/maxReplicas</c>).</summary>
    public const int HpaMinReplicas = 3;

    public const int HpaMaxReplicas = 12;

    /// <summary>The plan: workers 4 → 6 → 3 → 4 and frontends 2 → 3 → 2 under steady load, then an overload that
    /// the autoscaling signal must show and a scale-out that must bring it back below the target. (Not to the chart's
    /// 12: on two cores, 14 silo processes exceed the machine, whatever each worker's limit.)</summary>
    public static readonly IReadOnlyList<ElasticStep> DefaultSteps =
    [
        new("steady", null, null),
        new("workers 4->6", 6, null),
        new("workers 6->3", 3, null),
        new("workers 3->4", 4, null),
        new("frontends 2->3", null, 3),
        new("frontends 3->2", null, 2),
        new("overload", null, null, Overload: true),
        new("overload, workers 4->8", 8, null, Overload: true),
    ];

    public int Workers { get; init; } = 4;
    public int Frontends { get; init; } = 2;

    /// <summary>The arrival rate of the steps without overload: one that 3 workers still serve with room to spare.</summary>
    public double Rate { get; init; } = 50;

    /// <summary>The arrival rate of the overload steps: above what the starting workers can serve.</summary>
    public double OverloadRate { get; init; } = 150;

    /// <summary>How long each step holds its load after its scaling is done; the last 10 s are what the report's
    /// worker share and queue delay are measured over (by then a new worker's CPU limit applies:
    /// <see cref="ProcessClusterOptions.WorkerCpuLimitDelay"/>).</summary>
    public double HoldSeconds { get; init; } = 20;

    /// <summary>CPU each worker may use, in cores (a cgroup quota on what <see cref="WorkerCpuScope"/> says): on one
    /// machine it gives each worker a capacity of its own, so that adding workers adds capacity; null: none.</summary>
    public double? WorkerCpu { get; init; } = 0.04;

    /// <summary>What <see cref="WorkerCpu"/> limits. By default each worker's runner threads, the threads that run its
    /// models' batches: its accelerator, emulated, while its host work (messaging, the thread pool, the JIT) keeps the
    /// machine's cores as a GPU node's host CPU does. The rates are low enough that the host work of 8 workers does not
    /// saturate two cores (docs/OPERATIONS.md, "the elastic drill"); <see cref="For"/> gives the whole-process
    /// emulation's own.</summary>
    public WorkerCpuScope WorkerCpuScope { get; init; } = WorkerCpuScope.Runners;

    /// <summary>The limit and rates measured for each scope: runners 0.04 cores at 50 and 150 queries/s; the whole
    /// process (as a pod's CPU limit, which also charges its host work) 0.1 cores at 100 and 350.</summary>
    public static ElasticRunOptions For(WorkerCpuScope scope) => scope == WorkerCpuScope.Runners
        ? new ElasticRunOptions()
        : new ElasticRunOptions { WorkerCpuScope = scope, WorkerCpu = 0.1, Rate = 100, OverloadRate = 350 };

    public IReadOnlyList<ElasticStep> Steps { get; init; } = DefaultSteps;
    public ServingMode Mode { get; init; } = ServingMode.AsymCdcCompact;
    public int K { get; init; } = 2;
    /// <summary>Queries before the first phase: long enough for every silo's JIT to tier up, so "steady" is.</summary>
    public int Warmup { get; init; } = 3000;
    public int TimeoutMs { get; init; } = 5000;
    public int StartupNice { get; init; } = 19;
    public ClientHedging? Hedging { get; init; } = new();
    public string RunDirectory { get; init; } = "runs/elastic";
    public string? Models { get; init; }
    public string? Silo { get; init; }

    /// <summary>Configuration for every silo on top of the drill's own (<c>--set</c>).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    public TimeSpan Timeout => TimeSpan.FromMilliseconds(TimeoutMs);

    public ProcessClusterOptions ClusterOptions()
    {
        var options = new ProcessClusterOptions
        {
            Workers = Workers,
            Frontends = Frontends,
            RunDirectory = RunDirectory,
            ModelRepository = Models,
            SiloDll = Silo,
            WorkerCpu = WorkerCpu,
            WorkerCpuScope = WorkerCpuScope,
        };
        options.Settings["AsymCdc:Serving:K"] = K.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:RequestTimeout"] = Timeout.ToString();
        if (WorkerCpu is not null)
        {
            // A worker held to a fraction of a core stands for one accelerator, which a GPU worker serves with one
            // runner per session and parity queries in its batches (the cuda defaults); more runners would share that
            // fraction and hide waits in their run times.
            options.Settings["AsymCdc:Inference:Instances"] = "1";
            options.Settings["AsymCdc:Inference:ParityInstances"] = "0";
        }

        foreach (var (key, value) in Settings)
        {
            options.Settings[key] = value;
        }

        return options;
    }
}

/// <summary>One step of the drill as measured: its queries (sent from the start of its scaling to the end of its hold),
/// the autoscaling signal and the worker share over its last 10 s.</summary>
public sealed record ElasticPhase(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("workers")] int Workers,
    [property: JsonPropertyName("frontends")] int Frontends,
    [property: JsonPropertyName("rate_qps")] double RateQps,
    [property: JsonPropertyName("scale_s")] double ScaleSeconds,
    [property: JsonPropertyName("queries")] int Queries,
    [property: JsonPropertyName("answered")] int Answered,
    [property: JsonPropertyName("errors")] int Errors,
    [property: JsonPropertyName("lost")] int Lost,
    [property: JsonPropertyName("errors_by_kind")] IReadOnlyDictionary<string, int> ErrorsByKind,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("p999_ms")] double P999Ms,
    [property: JsonPropertyName("throughput_qps")] double ThroughputQps,
    [property: JsonPropertyName("queue_delay_s")] double QueueDelaySeconds,
    [property: JsonPropertyName("above_hpa_target")] bool AboveHpaTarget,
    [property: JsonPropertyName("hpa_desired_workers")] int HpaDesiredWorkers,
    [property: JsonPropertyName("min_worker_share")] double MinWorkerShare,
    [property: JsonPropertyName("worker_calls")] IReadOnlyDictionary<string, double> WorkerCalls,
    [property: JsonPropertyName("sigkilled")] IReadOnlyList<string> Sigkilled,
    [property: JsonPropertyName("worker_throttled_share")] double? WorkerThrottledShare = null);

/// <summary>The drill's report: every query's fate, each phase, and the checks of the targets.</summary>
public sealed record ElasticRunResult(
    [property: JsonPropertyName("queries")] int Queries,
    [property: JsonPropertyName("answered")] int Answered,
    [property: JsonPropertyName("errors")] int Errors,
    [property: JsonPropertyName("lost")] int Lost,
    [property: JsonPropertyName("hpa_target_queue_delay_s")] double HpaTarget,
    [property: JsonPropertyName("worker_cpu_cores")] double? WorkerCpu,
    [property: JsonPropertyName("worker_cpu_scope")] WorkerCpuScope WorkerCpuScope,
    [property: JsonPropertyName("resent_on_refusal")] long ResentOnRefusal,
    [property: JsonPropertyName("resent_after_gateway_loss")] long ResentAfterGatewayLoss,
    [property: JsonPropertyName("phases")] IReadOnlyList<ElasticPhase> Phases,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, bool> Checks,
    [property: JsonPropertyName("cpu_limit_failures")] IReadOnlyList<string> CpuLimitFailures)
{
    [JsonPropertyName("passed")]
    public bool Passed => Lost == 0 && Errors == 0 && Answered == Queries && Checks.Values.All(c => c);

    /// <summary>Every measured query with the name of the phase it was sent in, in the order sent; not in the JSON
    /// report (<see cref="RecordsCsv"/>).</summary>
    [JsonIgnore]
    public IReadOnlyList<(string Phase, ChaosRecord Record)> Records { get; init; } = [];

    /// <summary>Every query as CSV lines, the header first: the phase, then <see cref="ChaosRecord.ToCsv"/>'s columns
    /// (sent_ms counts from the first phase's start).</summary>
    public IEnumerable<string> RecordsCsv() =>
        ["phase," + ChaosRecord.CsvHeader, .. Records.Select(r => $"\"{r.Phase}\",{r.Record.ToCsv()}")];

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}

/// <summary>
/// The elastic drill against a started <see cref="ProcessCluster"/>: open-loop load through an Orleans client that finds
/// its gateways in the membership table (as a deployed client does), while the cluster is scaled out and in
/// (<see cref="ProcessCluster.ScaleAsync"/>); each phase's latency, the worker queue delay read from every worker's
/// <c>/metrics</c> and each worker's share of the calls.
/// </summary>
public static class ElasticRun
{
    /// <summary>The window at the end of each phase over which the share of worker calls and the queue delay are measured.</summary>
    public static readonly TimeSpan MeasureWindow = TimeSpan.FromSeconds(10);

    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task<ElasticRunResult> RunAsync(ProcessCluster cluster, ElasticRunOptions options, Action<string>? phase,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        var data = FashionMnist.LoadTestSet();
        await using var connection = await ClusterConnection.ConnectAsync(cluster.State, options.Timeout + TimeSpan.FromSeconds(1),
            hedging: options.Hedging, followMembership: true, cancellationToken: cancellationToken);
        var load = new ChaosLoad(connection.Predictions, data);
        phase?.Invoke("Warm-up load...");
        await load.RunAsync(options.Mode, options.Warmup, options.Rate, options.Timeout, Stopwatch.GetTimestamp(), cancellationToken);

        var countersBefore = connection.Predictions.Counters;
        var start = Stopwatch.GetTimestamp();
        var generator = new Generator(load, options, start, data.Count);
        var running = generator.RunAsync(cancellationToken);
        var plans = new List<(ElasticStep Step, int Workers, int Frontends, double Rate, double FromMs, double ScaledMs, double ToMs, IReadOnlyDictionary<string, double> Calls, double QueueDelay, double? Throttled, IReadOnlyList<string> Killed)>();
        try
        {
            for (var i = 0; i < options.Steps.Count; i++)
            {
                var step = options.Steps[i];
                var rate = step.Overload ? options.OverloadRate : options.Rate;
                generator.Phase(i, rate);
                var fromMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                phase?.Invoke($"{step.Name}: scaling...");
                var change = await cluster.ScaleAsync(step.Workers, step.Frontends, options.StartupNice, cancellationToken);
                var scaledMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                phase?.Invoke($"{step.Name}: {rate:0} queries/s for {options.HoldSeconds:0} s...");
                var hold = TimeSpan.FromSeconds(options.HoldSeconds);
                var untilWindow = hold - MeasureWindow;
                if (untilWindow > TimeSpan.Zero)
                {
                    await Task.Delay(untilWindow, cancellationToken);
                }

                var before = await ScrapeAsync(cluster, cancellationToken);
                var throttlingBefore = Throttling(cluster);
                await Task.Delay(hold < MeasureWindow ? hold : MeasureWindow, cancellationToken);
                var after = await ScrapeAsync(cluster, cancellationToken);
                var throttled = ThrottledShare(throttlingBefore, Throttling(cluster));
                var window = after.Where(a => before.ContainsKey(a.Key)).ToDictionary(a => a.Key, a => a.Value - before[a.Key]);
                // The HPA's averageValue: the mean over worker pods of each pod's mean queue delay.
                var queueDelay = window.Count == 0 ? 0 : window.Values.Average(w => w.MeanQueueDelaySeconds);
                plans.Add((step, cluster.State.WithRole(SiloRoles.GpuWorker).Count, cluster.State.WithRole(SiloRoles.Frontend).Count,
                    rate, fromMs, scaledMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds,
                    window.ToDictionary(w => w.Key, w => w.Value.Calls), queueDelay, throttled, change.Killed));
            }
        }
        finally
        {
            generator.Stop();
        }

        var records = await running;
        var counters = connection.Predictions.Counters - countersBefore;
        var phases = new List<ElasticPhase>();
        foreach (var (plan, index) in plans.Select((p, i) => (p, i)))
        {
            var sent = records.Where(r => r.Phase == index).Select(r => r.Record).ToList();
            var latencies = sent.Where(r => r.Outcome == QueryOutcome.Answered).Select(r => r.LatencyMs).Order().ToList();
            var evenShare = plan.Calls.Count == 0 ? 0 : plan.Calls.Values.Sum() / plan.Calls.Count;
            phases.Add(new ElasticPhase(plan.Step.Name,
                plan.Workers,
                plan.Frontends,
                plan.Rate,
                Math.Round((plan.ScaledMs - plan.FromMs) / 1000, 2),
                sent.Count,
                sent.Count(r => r.Outcome == QueryOutcome.Answered),
                sent.Count(r => r.Outcome == QueryOutcome.Error),
                sent.Count(r => r.Outcome == QueryOutcome.Lost),
                sent.Where(r => r.Outcome == QueryOutcome.Error).GroupBy(r => r.Error ?? "?").ToDictionary(g => g.Key, g => g.Count()),
                Round(Percentile(latencies, 0.5)),
                Round(Percentile(latencies, 0.99)),
                Round(Percentile(latencies, 0.999)),
                Math.Round(latencies.Count / ((plan.ToMs - plan.FromMs) / 1000), 1),
                Math.Round(plan.QueueDelay, 5),
                plan.QueueDelay > ElasticRunOptions.HpaTargetQueueDelaySeconds,
                HpaDesiredReplicas(plan.Workers, plan.QueueDelay),
                evenShare > 0 ? Math.Round(plan.Calls.Values.Min() / evenShare, 3) : 0,
                plan.Calls.ToDictionary(c => c.Key, c => Math.Round(c.Value)),
                plan.Killed,
                plan.Throttled is { } share ? Math.Round(share, 3) : null));
        }

        var all = records.Select(r => r.Record).ToList();
        var checks = new Dictionary<string, bool>(Checks(phases));
        if (options.WorkerCpu is not null)
        {
            checks["every worker CPU limit applied"] = cluster.CpuLimitFailures.Count == 0;
        }

        return new ElasticRunResult(all.Count, all.Count(r => r.Outcome == QueryOutcome.Answered), all.Count(r => r.Outcome == QueryOutcome.Error),
            all.Count(r => r.Outcome == QueryOutcome.Lost), ElasticRunOptions.HpaTargetQueueDelaySeconds, options.WorkerCpu, options.WorkerCpuScope,
            counters.ResentOnRefusal, counters.Resent, phases, checks, [.. cluster.CpuLimitFailures])
        {
            Records = [.. records.Select(r => (options.Steps[r.Phase].Name, r.Record))],
        };
    }

    /// <summary>
    /// The targets: each scaling phase's p99 within 2× the steady phase before it (the last phase without scaling
    /// at the same load); after each scale-out of workers, the smallest worker's share at least half an even share; the
    /// queue delay above the HPA target in an overload phase without scaling, and below it after the overload's
    /// scale-out; no silo needed SIGKILL to leave.
    /// </summary>
    public static IReadOnlyDictionary<string, bool> Checks(IReadOnlyList<ElasticPhase> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        var checks = new Dictionary<string, bool>();
        ElasticPhase? steady = null;
        for (var i = 0; i < phases.Count; i++)
        {
            var phase = phases[i];
            var previous = i > 0 ? phases[i - 1] : null;
            var scaled = previous is not null && (phase.Workers != previous.Workers || phase.Frontends != previous.Frontends);
            var overload = previous is not null && phase.RateQps > previous.RateQps;
            if (!scaled)
            {
                steady = phase;
            }
            else if (steady is not null && phase.RateQps == steady.RateQps && !overload)
            {
                checks[$"{phase.Name}: p99 <= 2x {steady.Name}"] = phase.P99Ms <= 2 * steady.P99Ms;
            }

            if (scaled && previous is not null && phase.Workers > previous.Workers)
            {
                checks[$"{phase.Name}: min worker share >= 0.5"] = phase.MinWorkerShare >= 0.5;
            }

            if (phase.RateQps > phases[0].RateQps)
            {
                if (!scaled)
                {
                    checks[$"{phase.Name}: queue delay above the HPA target"] = phase.AboveHpaTarget;
                }
                else if (i == phases.Count - 1)
                {
                    // The HPA scales out until the signal is below its target: the last scale-out must get there.
                    checks[$"{phase.Name}: queue delay below the HPA target"] = !phase.AboveHpaTarget;
                }
                else
                {
                    checks[$"{phase.Name}: queue delay falls"] = phase.QueueDelaySeconds < previous!.QueueDelaySeconds;
                }
            }

            if (phase.Sigkilled.Count > 0)
            {
                checks[$"{phase.Name}: silos left on SIGTERM"] = false;
            }
        }

        return checks;
    }

    /// <summary>What the chart's HPA would ask for on this signal: ceil(workers × signal ÷ target), unchanged within its
    /// 10% tolerance, between the chart's minReplicas (3) and maxReplicas (12) (before its rate limits).</summary>
    public static int HpaDesiredReplicas(int workers, double queueDelaySeconds)
    {
        var ratio = queueDelaySeconds / ElasticRunOptions.HpaTargetQueueDelaySeconds;
        var desired = Math.Abs(ratio - 1) <= 0.1 ? workers : (int)Math.Ceiling(workers * ratio);
        return Math.Clamp(desired, ElasticRunOptions.HpaMinReplicas, ElasticRunOptions.HpaMaxReplicas);
    }

    /// <summary>Each worker's CPU-limit throttling counters now, by silo name; workers without a limit are left out.</summary>
    private static Dictionary<string, CfsThrottling> Throttling(ProcessCluster cluster) =>
        cluster.State.WithRole(SiloRoles.GpuWorker)
            .Select(w => (w.Name, Stat: cluster.CpuThrottling(w.Name)))
            .Where(w => w.Stat is not null)
            .ToDictionary(w => w.Name, w => w.Stat!.Value);

    /// <summary>The mean over workers of the share of their CFS periods that ended throttled between two readings: how
    /// much of its emulated node a worker used (near 1: all of it, every period ended waiting for the next); null when
    /// no worker had a limit throughout.</summary>
    public static double? ThrottledShare(IReadOnlyDictionary<string, CfsThrottling> before, IReadOnlyDictionary<string, CfsThrottling> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var shares = after.Where(a => before.ContainsKey(a.Key))
            .Select(a => a.Value - before[a.Key])
            .Where(d => d.Periods > 0)
            .Select(d => d.ThrottledShare)
            .ToList();
        return shares.Count == 0 ? null : shares.Average();
    }

    /// <summary>Each worker silo's queue-delay histogram now, by silo name; a silo that does not answer is left out.</summary>
    private static async Task<Dictionary<string, WorkerMetrics>> ScrapeAsync(ProcessCluster cluster, CancellationToken cancellationToken)
    {
        var workers = cluster.State.WithRole(SiloRoles.GpuWorker);
        var scraped = await Task.WhenAll(workers.Select(async w =>
        {
            try
            {
                return (w.Name, Metrics: (WorkerMetrics?)WorkerMetrics.Parse(await s_http.GetStringAsync(w.MetricsUri, cancellationToken)));
            }
            catch (HttpRequestException)
            {
                return (w.Name, Metrics: null);
            }
        }));
        return scraped.Where(s => s.Metrics is not null).ToDictionary(s => s.Name, s => s.Metrics!.Value);
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : LatencySummary.Percentile(sorted, p);

    private static double Round(double v) => Math.Round(v, 2);

    /// <summary>Open-loop load whose rate changes with the phase: query n is sent 1/rate after query n−1, whatever
    /// happened to earlier ones, and tagged with the phase it was sent in.</summary>
    private sealed class Generator(ChaosLoad load, ElasticRunOptions options, long start, int images)
    {
        private readonly ConcurrentQueue<Task<(int Phase, ChaosRecord Record)>> _sent = new();
        private readonly CancellationTokenSource _stop = new();
        private volatile int _phase;
        private double _rate = options.Rate;

        public void Phase(int phase, double rate)
        {
            Volatile.Write(ref _rate, rate);
            _phase = phase;
        }

        public void Stop() => _stop.Cancel();

        public async Task<(int Phase, ChaosRecord Record)[]> RunAsync(CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            var next = TimeSpan.Zero;
            var n = 0;
            try
            {
                while (!linked.IsCancellationRequested)
                {
                    var due = next - Stopwatch.GetElapsedTime(start);
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, linked.Token);
                    }

                    var phase = _phase;
                    var image = n++ % images;
                    _sent.Enqueue(Task.Run(async () => (phase, await load.OneAsync(image, options.Mode, options.Timeout, start))));
                    next += TimeSpan.FromSeconds(1 / Volatile.Read(ref _rate));
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // The drill is over: every query already sent is awaited below.
            }

            return await Task.WhenAll(_sent);
        }
    }
}
