using AsymCdc.Abstractions;
using AsymCdc.Grains;

namespace AsymCdc.Cli.Bench;

/// <summary>What <see cref="BenchRunner"/> measures; <see cref="Validate"/> names the first bad setting.</summary>
public sealed class BenchOptions
{
    /// <summary>The serving defaults the image and the chart ship.</summary>
    private static readonly ServingOptions s_shipped = new();

    /// <summary>The report's name for these settings: quick, full or custom.</summary>
    public string Preset { get; set; } = "custom";

    public int K { get; set; } = 2;

    /// <summary>Worker silos, the same for every mode (a coded group needs k+1 distinct ones).</summary>
    public int Workers { get; set; } = 4;

    /// <summary>Measured queries per mode and scenario.</summary>
    public int Queries { get; set; } = 5000;

    /// <summary>Unmeasured queries per mode and scenario before the measured ones (activations, JIT, latency windows).</summary>
    public int WarmupQueries { get; set; } = 200;

    /// <summary>Mean Poisson arrival rate, queries per second.</summary>
    public double Rate { get; set; } = 150;

    /// <summary>Seed of the arrival trace and of every silo's straggler draw.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Fraction of worker calls that straggle, one scenario each.</summary>
    public IReadOnlyList<double> StragglerRates { get; set; } = [0, 0.01, 0.05];

    /// <summary>Delay of a straggling call; null: <see cref="DelayServiceTimes"/> × the median service time measured in the warm-up.</summary>
    public TimeSpan? StragglerDelay { get; set; }

    public double DelayServiceTimes { get; set; } = 20;

    /// <summary>The straggler deadline (the floor of an adaptive one); null: <see cref="DeadlineServiceTimes"/> × the median service time.</summary>
    public TimeSpan? StragglerDeadline { get; set; }

    public double DeadlineServiceTimes { get; set; } = 3;

    /// <summary>Adaptive deadline: at least this multiple of the recent median own-answer time (0 = fixed deadline).</summary>
    public double DeadlineMedianFactor { get; set; }

    /// <summary>The serving layer's adaptive deadline (<c>AsymCdc:Serving:Deadline=adaptive</c>): the p95 of each silo's
    /// recent worker service times, with <see cref="StragglerDeadline"/> as its floor.</summary>
    public bool QuantileDeadline { get; set; }

    /// <summary>The serving layer's quantile trigger (<c>AsymCdc:Serving:Deadline=quantile</c>): the live p90 of each
    /// group's own-answer times.</summary>
    public bool OwnQuantileDeadline { get; set; }

    /// <summary>How the straggler deadline is set, as reported: fixed, median (≥ X·median), adaptive (p95) or quantile (p90 of own answers).</summary>
    public string DeadlineKind => OwnQuantileDeadline ? "quantile" : QuantileDeadline ? "adaptive" : DeadlineMedianFactor > 0 ? "median" : "fixed";

    /// <summary>When set, the arrival rate is this fraction of the capacity of the most expensive mode under test,
    /// measured first on the bench's own cluster (open loop far above it, mode by mode); <see cref="Rate"/> otherwise.</summary>
    public double? Load { get; set; }

    /// <summary>Extra scenarios without stragglers: worker 0 slowed by <see cref="SlowSiloServiceTimes"/> median service
    /// times on every call ("slow-silo"), and for 2 s of every 6 s ("slow-node-periodic").</summary>
    public bool SlowSiloScenarios { get; set; }

    public double SlowSiloServiceTimes { get; set; } = 20;

    /// <summary>The group window cap (<c>AsymCdc:Serving:GroupWindow</c>): the silo's default, as the image and the chart
    /// ship it, unless a run measures another.</summary>
    public TimeSpan GroupWindow { get; set; } = s_shipped.GroupWindow;

    /// <summary>Parity-group grains per mode (<c>AsymCdc:Serving:GroupShards</c>): the silo's default unless a run
    /// measures another.</summary>
    public int GroupShards { get; set; } = s_shipped.GroupShards;

    /// <summary>Configuration for every silo of every cluster the bench starts, applied after its own (<c>--set</c>):
    /// to measure a setting against the shipped defaults. The report records it.</summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Slices of the trace each mode runs in turn (slice 1 in every mode, then slice 2...), so that the machine's
    /// slow spells fall on every mode alike; 1 runs each mode's whole trace at once.</summary>
    public int Rounds { get; set; } = 1;

    public IReadOnlyList<ServingMode> Modes { get; set; } = ServingModes.All;

    /// <summary>The served model every query goes to (repository name or alias), with items of its test split.</summary>
    public string Model { get; set; } = PredictionRequest.DefaultModel;

    /// <summary>The model repository; null finds <c>models/</c> above the working directory.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>
    /// Every mode at 70% of the capacity the most expensive of them leaves (measured first), 5,000 queries per mode and
    /// scenario in 5 rounds, under 0/1/5% stragglers, a slow silo and a periodically slow node.
    /// </summary>
    public static BenchOptions Quick() => new() { Preset = "quick", Queries = 5000, WarmupQueries = 200, Load = 0.7, SlowSiloScenarios = true, Rounds = 5 };

    /// <summary>The full run: 10,000 queries per mode and scenario, the same scenarios and load.</summary>
    public static BenchOptions Full() => new() { Preset = "full", Queries = 10_000, WarmupQueries = 300, Load = 0.7, SlowSiloScenarios = true, Rounds = 5 };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting and what it must be.</summary>
    public void Validate()
    {
        Require(K is >= 2 and <= 4, $"k = {K} is outside 2..4");
        Require(Workers >= K + 1, $"workers = {Workers}: a coded group of k = {K} needs at least k+1 = {K + 1} worker silos");
        Require(Queries >= 1, $"queries = {Queries} must be at least 1");
        Require(WarmupQueries >= 0, $"warm-up queries = {WarmupQueries} must be 0 or more");
        Require(Rate > 0 && !double.IsInfinity(Rate), $"rate = {Rate} must be a positive number of queries per second");
        Require(Load is null or (> 0 and <= 1), $"load = {Load} must be a fraction of capacity in (0, 1]");
        Require(StragglerRates.Count > 0 && StragglerRates.All(r => r is >= 0 and <= 1), "straggler rates must be fractions in [0, 1], at least one");
        Require(StragglerRates.Distinct().Count() == StragglerRates.Count, "straggler rates must not repeat (one scenario each)");
        Require(StragglerDelay is null || StragglerDelay >= TimeSpan.Zero, $"straggler delay = {StragglerDelay} must not be negative");
        Require(StragglerDeadline is null || StragglerDeadline > TimeSpan.Zero, $"straggler deadline = {StragglerDeadline} must be positive");
        Require(DelayServiceTimes > 0 && DeadlineServiceTimes > 0, "the service-time multiples of the straggler delay and deadline must be positive");
        Require(DeadlineMedianFactor >= 0, $"deadline median factor = {DeadlineMedianFactor} must be 0 (fixed deadline) or positive");
        Require(GroupWindow > TimeSpan.Zero, $"group window = {GroupWindow} must be positive");
        Require(GroupShards >= 1, $"group shards = {GroupShards} must be at least 1");
        Require(Timeout > (StragglerDeadline ?? TimeSpan.Zero), $"timeout = {Timeout} must be longer than the straggler deadline");
        Require(Modes.Count > 0 && Modes.Distinct().Count() == Modes.Count, "modes must name at least one mode, none twice");
        Require(Rounds is >= 1 and <= 100 && Rounds <= Queries, $"rounds = {Rounds} must be in 1..100 and at most the queries per mode ({Queries})");
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid benchmark setting: {problem}.");
        }
    }
}
