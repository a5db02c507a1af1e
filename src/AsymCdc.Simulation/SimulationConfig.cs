using System.Text.Json.Serialization;

namespace AsymCdc.Simulation;

/// <summary>
/// One simulated deployment and its load: what <c>asymcdc simulate --config FILE</c> reads (JSON, these names) and what
/// a named scenario (<see cref="Scenarios"/>) is. Times are in milliseconds, periods and windows of faults in seconds.
/// </summary>
public sealed record SimulationConfig
{
    [JsonPropertyName("name")] public string Name { get; init; } = "custom";

    [JsonPropertyName("description")] public string Description { get; init; } = "";

    /// <summary>Worker instances (model replicas), 1 to 10,000.</summary>
    [JsonPropertyName("workers")] public int Workers { get; init; } = 4;

    /// <summary>Queries per mode and load.</summary>
    [JsonPropertyName("queries")] public int Queries { get; init; } = 100_000;

    /// <summary>Offered loads, each a fraction of the capacity of the most expensive mode run (see <see cref="Capacity"/>).</summary>
    [JsonPropertyName("loads")] public IReadOnlyList<double> Loads { get; init; } = [0.7];

    [JsonPropertyName("modes")] public IReadOnlyList<string> Modes { get; init; } = AsymCdc.Serving.ServingStrategies.Modes;

    /// <summary><c>auto</c>: extra worker calls per query it may spend; null: 1/k.</summary>
    [JsonPropertyName("redundancy_budget")] public double? RedundancyBudget { get; init; }

    /// <summary><c>auto</c>: the lowest agreement of a reconstruction it may serve (AsymCdc:Serving:AutoMinAgreement).</summary>
    [JsonPropertyName("auto_min_agreement")] public double AutoMinAgreement { get; init; } = AsymCdc.Serving.AutoCoding.DefaultMinAgreement;

    /// <summary>Each decoder's agreement with the model at this k, as its config.json records it; <c>auto</c> weighs its
    /// coders by them. Default: the shipped fmnist decoders at k = 2.</summary>
    [JsonPropertyName("agreement")] public IReadOnlyDictionary<string, double> Agreement { get; init; } = new Dictionary<string, double>
    {
        ["parm"] = 0.8762,
        ["asymcdc-compact"] = 0.9202,
    };

    [JsonPropertyName("k")] public int K { get; init; } = 2;

    [JsonPropertyName("seed")] public int Seed { get; init; } = 1;

    [JsonPropertyName("service")] public ServiceModel Service { get; init; } = new();

    [JsonPropertyName("arrivals")] public ArrivalModel Arrivals { get; init; } = new();

    [JsonPropertyName("faults")] public FaultModel Faults { get; init; } = new();

    [JsonPropertyName("policy")] public PolicyModel Policy { get; init; } = new();

    /// <summary>The group size and coded mode <c>auto</c> codes with here, and why, by the product's rule
    /// (AutoCoding.ChooseGroup, as the grain applies it) over <see cref="Agreement"/>, which holds at <see cref="K"/> (at
    /// another k the simulator knows no agreement: the compact decoder stays eligible, ParM does not); every decoder is
    /// deployed in the simulator. Coder null: it only hedges; Why is then null where no k fits the budget.</summary>
    public (int K, string? Coder, string? Why) AutoGroup() =>
        AsymCdc.Serving.AutoCoding.ChooseGroup(K, RedundancyBudget, AsymCdc.Serving.AutoCoding.MaxGroup, g =>
            [
                new(AsymCdc.Serving.AutoCoding.Parm, null, g == K && Agreement.TryGetValue(AsymCdc.Serving.AutoCoding.Parm, out var parm) ? parm : null),
                new(AsymCdc.Serving.AutoCoding.Compact, null, g == K && Agreement.TryGetValue(AsymCdc.Serving.AutoCoding.Compact, out var compact) ? compact : null),
            ], AutoMinAgreement);

    /// <summary>Checks every value; the first problem, named, or null.</summary>
    public string? Problem()
    {
        if (Workers is < 1 or > 10_000)
        {
            return $"workers is {Workers}; it must be 1..10000";
        }

        if (Queries < 1)
        {
            return $"queries is {Queries}; it must be at least 1";
        }

        if (Loads.Count == 0 || Loads.Any(l => l is <= 0 or > 10 || double.IsNaN(l)))
        {
            return $"loads ({string.Join(", ", Loads)}) must be fractions of capacity in (0, 10]";
        }

        if (K is < 1 or > 16)
        {
            return $"k is {K}; it must be 1..16";
        }

        if (AutoMinAgreement is < 0 or > 1 || double.IsNaN(AutoMinAgreement) || Agreement.Values.Any(a => a is < 0 or > 1 || double.IsNaN(a)))
        {
            return $"auto_min_agreement ({AutoMinAgreement}) and every agreement ({string.Join(", ", Agreement.Values)}) must be fractions in [0, 1]";
        }

        var unknown = Modes.FirstOrDefault(m => !AsymCdc.Serving.ServingStrategies.Modes.Contains(m));
        if (unknown is not null || Modes.Count == 0)
        {
            return $"unknown mode '{unknown}'; expected some of: {string.Join(", ", AsymCdc.Serving.ServingStrategies.Modes)}";
        }

        return Service.Problem() ?? Faults.Problem(Workers) ?? Policy.Problem();
    }
}

/// <summary>How long a worker takes for a batch of b queries.</summary>
public sealed record ServiceModel
{
    /// <summary><c>empirical</c>: each call's time is drawn from <see cref="SamplesMs"/> (one query per call, as the CPU
    /// silos run at this load); <c>gpu</c>: the worker runs whatever has queued as one batch (up to
    /// <see cref="MaxBatch"/>) in the time <see cref="BatchMs"/> gives for its size (docs/GPU.md, H100), times a
    /// log-normal jitter of <see cref="JitterSigma"/>.</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "empirical";

    /// <summary>Empirical service times (ms); the bench's calibration writes them.</summary>
    [JsonPropertyName("samples_ms")] public IReadOnlyList<double> SamplesMs { get; init; } = [1.0];

    /// <summary>GPU: batch size → ms, interpolated linearly between the sizes given.</summary>
    [JsonPropertyName("batch_ms")] public IReadOnlyDictionary<string, double> BatchMs { get; init; } = GpuH100Classifier;

    [JsonPropertyName("max_batch")] public int MaxBatch { get; init; } = 64;

    [JsonPropertyName("jitter_sigma")] public double JitterSigma { get; init; } = 0.078;

    /// <summary>Cores shared by every worker (0: none shared, each worker has its own). The 2 cores of the machine
    /// the real bench runs on are such a resource: a call waits for a core as well as for its worker.</summary>
    [JsonPropertyName("shared_cores")] public int SharedCores { get; init; }

    /// <summary>Time on the caller's side of each answer (client, gateway and frontend hops) that holds no core, added to every latency.</summary>
    [JsonPropertyName("overhead_ms")] public double OverheadMs { get; init; }

    /// <summary>With <see cref="SharedCores"/>: of each sampled call time, this much holds a core; the rest is waiting
    /// that holds none (the call's messaging, the micro-batch window). Null: all of it.</summary>
    [JsonPropertyName("core_ms")] public double? CoreMs { get; init; }

    /// <summary>CPU each query takes on the caller's side (client, frontend, parity group) before its policy sees it:
    /// with <see cref="SharedCores"/>, it waits for a core like the workers' calls do.</summary>
    [JsonPropertyName("caller_cpu_ms")] public double CallerCpuMs { get; init; }

    /// <summary>Decode time per mode (ms): the decoder runs next to the group, not on a worker. Defaults: the serving
    /// path's median as <c>asymcdc bench</c> reports it (<c>decode_p50_ms</c>: from the decode's start to its answer,
    /// as the parity group sees it), over the quick preset's scenarios on the 2-core machine, 2026-12-07.</summary>
    [JsonPropertyName("decode_ms")] public IReadOnlyDictionary<string, double> DecodeMs { get; init; } = new Dictionary<string, double>
    {
        ["asymcdc-exact"] = 1.7, ["asymcdc-compact"] = 0.27, ["parm"] = 0.03, ["approxifer"] = 0.04,
    };

    /// <summary>docs/GPU.md: fmnist-inn on one H100, p50 of one call per batch size (ms).</summary>
    public static readonly IReadOnlyDictionary<string, double> GpuH100Classifier = new Dictionary<string, double>
    {
        ["1"] = 1.110, ["8"] = 1.109, ["64"] = 1.096, ["256"] = 1.511,
    };

    internal string? Problem()
    {
        if (Kind is not ("empirical" or "gpu"))
        {
            return $"service.kind is '{Kind}'; expected empirical or gpu";
        }

        if (Kind == "empirical" && (SamplesMs.Count == 0 || SamplesMs.Any(s => s <= 0 || double.IsNaN(s))))
        {
            return "service.samples_ms must hold positive service times";
        }

        if (Kind == "gpu" && (BatchMs.Count == 0 || BatchMs.Any(b => !int.TryParse(b.Key, out var n) || n < 1 || b.Value <= 0)))
        {
            return "service.batch_ms must map batch sizes (>= 1) to positive times";
        }

        return MaxBatch < 1 ? "service.max_batch must be at least 1" : SharedCores < 0 ? "service.shared_cores must be >= 0" : null;
    }
}

/// <summary>Open-loop arrivals: Poisson, optionally in bursts (the rate times <see cref="BurstFactor"/> for
/// <see cref="BurstSeconds"/> of every <see cref="BurstPeriodSeconds"/>).</summary>
public sealed record ArrivalModel
{
    [JsonPropertyName("burst_factor")] public double BurstFactor { get; init; } = 1;

    [JsonPropertyName("burst_s")] public double BurstSeconds { get; init; }

    [JsonPropertyName("burst_period_s")] public double BurstPeriodSeconds { get; init; }
}

/// <summary>What goes wrong.</summary>
public sealed record FaultModel
{
    /// <summary>Per-call stragglers: this fraction of worker calls answers <see cref="StragglerDelayMedians"/> median
    /// service times late (the delay holds no worker: a GC pause, a slow network).</summary>
    [JsonPropertyName("straggler_rate")] public double StragglerRate { get; init; }

    [JsonPropertyName("straggler_delay_medians")] public double StragglerDelayMedians { get; init; } = 20;

    /// <summary>When set, the straggler delay in ms (instead of <see cref="StragglerDelayMedians"/>).</summary>
    [JsonPropertyName("straggler_delay_ms")] public double? StragglerDelayMs { get; init; }

    /// <summary>Slow nodes: this many workers run <see cref="SlowFactor"/> times slower for <see cref="SlowSeconds"/>
    /// of every <see cref="SlowPeriodSeconds"/> (a period of 0: for the whole run): each call holds the worker that much
    /// longer, so its throughput falls and its queue grows (a throttled or oversubscribed node).</summary>
    [JsonPropertyName("slow_nodes")] public int SlowNodes { get; init; }

    [JsonPropertyName("slow_factor")] public double SlowFactor { get; init; } = 10;

    /// <summary>When set, the slow nodes are slow in latency only: in their window each of their answers arrives this
    /// many median service times late, a delay that holds no worker (a slow link; the bench's <c>--slow-silo</c>
    /// scenarios), and <see cref="SlowFactor"/> does not apply.</summary>
    [JsonPropertyName("slow_delay_medians")] public double? SlowDelayMedians { get; init; }

    [JsonPropertyName("slow_s")] public double SlowSeconds { get; init; }

    [JsonPropertyName("slow_period_s")] public double SlowPeriodSeconds { get; init; }

    /// <summary>Correlated background load: this fraction of the workers is slowed by <see cref="BackgroundFactor"/>
    /// together, for <see cref="BackgroundSeconds"/> of every <see cref="BackgroundPeriodSeconds"/>.</summary>
    [JsonPropertyName("background_fraction")] public double BackgroundFraction { get; init; }

    [JsonPropertyName("background_factor")] public double BackgroundFactor { get; init; } = 3;

    [JsonPropertyName("background_s")] public double BackgroundSeconds { get; init; }

    [JsonPropertyName("background_period_s")] public double BackgroundPeriodSeconds { get; init; }

    /// <summary>Node death: this many workers die at <see cref="DeathAtFraction"/> of the run; calls on them fail when
    /// the death is detected (<see cref="DetectionMs"/> later), when they also leave the pickers' view; a replacement joins
    /// <see cref="ReplaceSeconds"/> after the death.</summary>
    [JsonPropertyName("deaths")] public int Deaths { get; init; }

    [JsonPropertyName("death_at_fraction")] public double DeathAtFraction { get; init; } = 0.3;

    [JsonPropertyName("detection_ms")] public double DetectionMs { get; init; } = 500;

    [JsonPropertyName("replace_s")] public double ReplaceSeconds { get; init; } = 10;

    internal string? Problem(int workers)
    {
        if (StragglerRate is < 0 or > 1 || double.IsNaN(StragglerRate))
        {
            return $"faults.straggler_rate is {StragglerRate}; it must be in [0, 1]";
        }

        if (SlowDelayMedians is < 0 || (SlowDelayMedians is { } d && double.IsNaN(d)))
        {
            return $"faults.slow_delay_medians is {SlowDelayMedians}; it must be at least 0";
        }

        if (SlowNodes < 0 || SlowNodes > workers || Deaths < 0 || Deaths >= workers)
        {
            return $"faults: slow_nodes ({SlowNodes}) must be 0..workers and deaths ({Deaths}) fewer than the workers ({workers})";
        }

        return BackgroundFraction is < 0 or > 1 ? "faults.background_fraction must be in [0, 1]" : null;
    }
}

/// <summary>The serving policies' settings, as <c>AsymCdc:Serving</c> names them; the defaults are the product's.</summary>
public sealed record PolicyModel
{
    /// <summary><c>fixed</c>, <c>adaptive</c> (the silo's quantile of worker service times) or <c>quantile</c>.</summary>
    [JsonPropertyName("deadline")] public string Deadline { get; init; } = "quantile";

    /// <summary>The fixed straggler deadline in median service times (the bench's default: 4).</summary>
    [JsonPropertyName("straggler_deadline_medians")] public double StragglerDeadlineMedians { get; init; } = 4;

    /// <summary>When set, the straggler deadline in ms (instead of <see cref="StragglerDeadlineMedians"/>).</summary>
    [JsonPropertyName("straggler_deadline_ms")] public double? StragglerDeadlineMs { get; init; }

    [JsonPropertyName("deadline_median_factor")] public double DeadlineMedianFactor { get; init; }

    [JsonPropertyName("adaptive_quantile")] public double AdaptiveQuantile { get; init; } = 0.95;

    [JsonPropertyName("adaptive_floor_ms")] public double AdaptiveFloorMs { get; init; } = 10;

    [JsonPropertyName("adaptive_cap_ms")] public double AdaptiveCapMs { get; init; } = 200;

    [JsonPropertyName("group_window_ms")] public double GroupWindowMs { get; init; } = 5;

    [JsonPropertyName("hedge_percentile")] public double HedgePercentile { get; init; } = 0.95;

    /// <summary>A query not answered this long after it was sent is an error (DeadlineExceeded), as in the cluster.</summary>
    [JsonPropertyName("timeout_ms")] public double TimeoutMs { get; init; } = 5000;

    /// <summary>The deadline <c>quantile</c>: the live quantile (<see cref="TriggerQuantile"/>) of own-answer times.</summary>
    [JsonPropertyName("trigger_quantile")] public double TriggerQuantile { get; init; } = 0.9;

    /// <summary>The <c>quantile</c> deadline is this multiple of the quantile.</summary>
    [JsonPropertyName("trigger_factor")] public double TriggerFactor { get; init; } = 1;

    /// <summary>asymcdc-exact decodes as soon as the other k answers are in.</summary>
    [JsonPropertyName("eager_exact")] public bool EagerExact { get; init; }

    /// <summary>The group window follows the arrival rate, up to <see cref="GroupWindowMs"/>.</summary>
    [JsonPropertyName("window_from_arrivals")] public bool WindowFromArrivals { get; init; }

    /// <summary>Workers whose median of their last 16 service times exceeds this multiple of the fleet's are passed over
    /// (0: off).</summary>
    [JsonPropertyName("slow_worker_factor")] public double SlowWorkerFactor { get; init; } = 3;

    /// <summary>Parity-group policies (shards) per mode; queries are spread round-robin over them.</summary>
    [JsonPropertyName("shards")] public int Shards { get; init; } = 2;

    internal string? Problem() =>
        Deadline is not ("fixed" or "adaptive" or "quantile") ? $"policy.deadline is '{Deadline}'; expected fixed, adaptive or quantile"
        : SlowWorkerFactor is < 0 or (> 0 and <= 1) ? "policy.slow_worker_factor must be 0 (off) or above 1"
        : StragglerDeadlineMedians <= 0 ? "policy.straggler_deadline_medians must be positive"
        : Shards < 1 ? "policy.shards must be at least 1"
        : HedgePercentile is <= 0 or >= 1 ? "policy.hedge_percentile must be in (0, 1)"
        : TriggerQuantile is <= 0 or >= 1 ? $"policy.trigger_quantile {TriggerQuantile} must be in (0, 1)"
        : TriggerFactor <= 0 ? $"policy.trigger_factor {TriggerFactor} must be positive"
        : null;
}
