using AsymCdc.Abstractions;

namespace AsymCdc.Grains;

/// <summary>How queries are served (section <c>AsymCdc:Serving</c>); validated at start-up by the hosting layer.</summary>
public sealed class ServingOptions
{
    public const string SectionName = "AsymCdc:Serving";

    /// <summary>Mode of a request that names none; bound from its configuration name (e.g. <c>asymcdc-compact</c>). Default
    /// <c>auto</c>: in the bench it matched or beat asymcdc-compact's tail and median in every scenario (docs/BENCHMARKS.md).</summary>
    public string DefaultMode { get; set; } = ServingMode.Auto.ToName();

    /// <summary>Data queries per parity group, 2..4.</summary>
    public int K { get; set; } = 2;

    /// <summary>A partial group (k' &lt; k members) is encoded and its parity dispatched after this.</summary>
    public TimeSpan GroupWindow { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Each query's own answer is raced against this; a miss triggers a decode (or a hedge).</summary>
    public TimeSpan StragglerDeadline { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>When positive, the straggler deadline of coded modes is at least this multiple of the recent median
    /// latency of own answers, so that a uniformly slow (overloaded) cluster is not mistaken for stragglers and flooded
    /// with decodes. 0 (default) uses <see cref="StragglerDeadline"/> alone.</summary>
    public double StragglerDeadlineMedianFactor { get; set; }

    /// <summary><c>quantile</c>: the live <see cref="TriggerQuantile"/> of own-answer times. <c>fixed</c>: <see cref="StragglerDeadline"/>, raised by <see cref="StragglerDeadlineMedianFactor"/>
    /// when that is set. <c>adaptive</c>: a live quantile of this silo's recent worker service times, clamped to
    /// [<see cref="AdaptiveDeadlineFloor"/>, <see cref="AdaptiveDeadlineCap"/>] (see <see cref="Grains.StragglerDeadline"/>).</summary>
    public string Deadline { get; set; } = QuantileDeadline;

    public const string FixedDeadline = "fixed";
    public const string AdaptiveDeadline = "adaptive";
    public const string QuantileDeadline = "quantile";

    /// <summary><c>quantile</c> deadline: the quantile of the group's recent own-answer times (late ones included) it
    /// follows, in (0, 1). 0.9 keeps it among healthy answers while fewer than 10% of calls straggle.</summary>
    public double TriggerQuantile { get; set; } = 0.9;

    /// <summary><c>quantile</c> deadline: this multiple of the quantile.</summary>
    public double TriggerFactor { get; set; } = 1;

    /// <summary>asymcdc-exact decodes a late member as soon as the other k answers are in (its reconstruction is the
    /// straggler's own answer, so starting early costs decoder time, not accuracy). Off by default: it gained at most
    /// 0.1 ms of p99.9 in the simulator's GPU scenarios, and on shared cores its decodes (k + 1 inferences each, for about
    /// one query in k + 1) overloaded the simulated 2-core cluster at 70% load (docs/BENCHMARKS.md).</summary>
    public bool EagerExactDecode { get; set; }

    /// <summary>The group window follows the arrival rate, up to <see cref="GroupWindow"/>: a lone query at low load gets
    /// its parity at once. Off by default: in the simulator it did not help (docs/BENCHMARKS.md).</summary>
    public bool WindowFromArrivals { get; set; }

    /// <summary><c>auto</c>: extra worker calls per query it may spend (coding costs 1/k, hedging about 1 − the hedge
    /// percentile); null: 1/k. Below 1/k auto codes larger groups, the smallest k' whose 1/k' fits (AutoCoding.ChooseGroup).</summary>
    public double? RedundancyBudget { get; set; }

    /// <summary><c>auto</c>: the lowest agreement with the model (its decoder's config.json <c>agreement</c>) of the
    /// reconstructions it may serve; it codes with ParM where ParM's parity model records at least this (its decode is a
    /// subtraction), else with the compact decoder (see AutoCoding). 1 keeps auto to the compact decoder.</summary>
    public double AutoMinAgreement { get; set; } = AsymCdc.Serving.AutoCoding.DefaultMinAgreement;

    /// <summary>A worker silo whose median of its last 16 service times is above this multiple of the fleet's is passed
    /// over (every mode) while enough others remain, and retried after a second; 0 turns it off.</summary>
    public double SlowWorkerFactor { get; set; } = 3;

    /// <summary>Adaptive deadline: the quantile of recent worker service times it follows, in (0, 1).</summary>
    public double AdaptiveDeadlineQuantile { get; set; } = 0.95;

    /// <summary>Adaptive deadline: never shorter than this, so scheduling jitter on a fast cluster does not trigger decodes
    /// (measured on 2 cores: at 5 ms, exact decodes started on jitter and the p99 got worse than a fixed 15 ms; at 10 ms
    /// both exact and compact p99 improved on it).</summary>
    public TimeSpan AdaptiveDeadlineFloor { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Adaptive deadline: never longer than this, so a cluster that turns slow still decodes its stragglers.</summary>
    public TimeSpan AdaptiveDeadlineCap { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Adaptive deadline: service times older than this are forgotten.</summary>
    public TimeSpan AdaptiveDeadlineWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A worker silo this silo's calls were rejected by (connection refused: it crashed) is not picked for
    /// this long, and calls waiting on it are released at once (see <see cref="WorkerSuspicion"/>); then it is tried
    /// again. Orleans membership removes a dead silo on its own, usually within seconds.</summary>
    public TimeSpan SuspectProbation { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A worker silo that joins while this silo serves takes, for this long, only the last slot of a group: the
    /// parity of coded modes (the backup of replication and hedging), needed only when another member straggles, while
    /// its first calls are slow (cold grain path). A slow start, as load balancers give new backends. 0: off.</summary>
    public TimeSpan NewWorkerParityOnly { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Fraction of reconstructed answers checked against the straggler's own answer when it finally arrives
    /// (shadow verification: metrics <c>asymcdc.shadow.checks</c> / <c>asymcdc.shadow.agreements</c>), 0..1.</summary>
    public double ShadowSampleRate { get; set; } = 0.1;

    public bool IsAdaptiveDeadline => string.Equals(Deadline, AdaptiveDeadline, StringComparison.OrdinalIgnoreCase);

    public bool IsQuantileDeadline => string.Equals(Deadline, QuantileDeadline, StringComparison.OrdinalIgnoreCase);

    /// <summary>The overall deadline of a query that names none.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Admission control: queries in flight per frontend silo before <c>Overloaded</c>.</summary>
    public int MaxInFlight { get; set; } = 4096;

    /// <summary>Parity-group grains per (mode, k); queries are spread round-robin over them.</summary>
    public int GroupShards { get; set; } = 2;

    /// <summary>Hedged mode fires its backup after this percentile of observed worker latency.</summary>
    public double HedgePercentile { get; set; } = 0.95;

    public ServingMode ParsedDefaultMode => ServingModes.Parse(DefaultMode);
}

/// <summary>Straggler injection for tests, the demo and the benchmark (section <c>AsymCdc:Stragglers</c>); off by default.</summary>
public sealed class StragglerOptions
{
    public const string SectionName = "AsymCdc:Stragglers";

    /// <summary>Fraction of worker calls delayed by <see cref="Delay"/>, 0..1.</summary>
    public double Rate { get; set; }

    /// <summary>Delay of a straggling call.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Seed of the straggler draw; each silo mixes in its own port so silos straggle independently.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Whole-silo slowdown: added to every worker call on this silo (a slow node).</summary>
    public TimeSpan SiloSlowdown { get; set; } = TimeSpan.Zero;

    /// <summary>With <see cref="SiloSlowdownPeriod"/>: the slowdown holds for this long at the start of every period
    /// (a node slow now and then: background jobs, a noisy neighbour).</summary>
    public TimeSpan? SiloSlowdownFor { get; set; }

    public TimeSpan? SiloSlowdownPeriod { get; set; }
}
