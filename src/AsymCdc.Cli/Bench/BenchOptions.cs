using AsymCdc.Abstractions;

namespace AsymCdc.Cli.Bench;

/// <summary>What <see cref="BenchRunner"/> measures; <see cref="Validate"/> names the first bad setting.</summary>
public sealed class BenchOptions
{
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

    /// <summary>How the straggler deadline is set, as reported: fixed, median (≥ X·median) or adaptive (p95).</summary>
    public string DeadlineKind => QuantileDeadline ? "adaptive" : DeadlineMedianFactor > 0 ? "median" : "fixed";

    public TimeSpan GroupWindow { get; set; } = TimeSpan.FromMilliseconds(10);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<ServingMode> Modes { get; set; } = ServingModes.All;

    /// <summary>The model repository; null finds <c>models/</c> above the working directory.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>
    /// Under 6 minutes on 2 shared cores: 1,000 queries per mode and scenario at 80 queries/s (21 cells of 12.5 s). The
    /// brief's 5,000 per cell would need about 290 queries/s for 7 modes × 3 scenarios in 6 minutes, which 2 cores
    /// cannot serve without queueing (docs/BENCHMARKS.md).
    /// </summary>
    public static BenchOptions Quick() => new() { Preset = "quick", Queries = 1000, WarmupQueries = 100, Rate = 80 };

    /// <summary>The full run: 10,000 queries per mode and scenario at the same rate (about 45 minutes on 2 cores).</summary>
    public static BenchOptions Full() => new() { Preset = "full", Queries = 10_000, WarmupQueries = 300, Rate = 80 };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting and what it must be.</summary>
    public void Validate()
    {
        Require(K is >= 2 and <= 4, $"k = {K} is outside 2..4");
        Require(Workers >= K + 1, $"workers = {Workers}: a coded group of k = {K} needs at least k+1 = {K + 1} worker silos");
        Require(Queries >= 1, $"queries = {Queries} must be at least 1");
        Require(WarmupQueries >= 0, $"warm-up queries = {WarmupQueries} must be 0 or more");
        Require(Rate > 0 && !double.IsInfinity(Rate), $"rate = {Rate} must be a positive number of queries per second");
        Require(StragglerRates.Count > 0 && StragglerRates.All(r => r is >= 0 and <= 1), "straggler rates must be fractions in [0, 1], at least one");
        Require(StragglerRates.Distinct().Count() == StragglerRates.Count, "straggler rates must not repeat (one scenario each)");
        Require(StragglerDelay is null || StragglerDelay >= TimeSpan.Zero, $"straggler delay = {StragglerDelay} must not be negative");
        Require(StragglerDeadline is null || StragglerDeadline > TimeSpan.Zero, $"straggler deadline = {StragglerDeadline} must be positive");
        Require(DelayServiceTimes > 0 && DeadlineServiceTimes > 0, "the service-time multiples of the straggler delay and deadline must be positive");
        Require(DeadlineMedianFactor >= 0, $"deadline median factor = {DeadlineMedianFactor} must be 0 (fixed deadline) or positive");
        Require(GroupWindow > TimeSpan.Zero, $"group window = {GroupWindow} must be positive");
        Require(Timeout > (StragglerDeadline ?? TimeSpan.Zero), $"timeout = {Timeout} must be longer than the straggler deadline");
        Require(Modes.Count > 0 && Modes.Distinct().Count() == Modes.Count, "modes must name at least one mode, none twice");
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid benchmark setting: {problem}.");
        }
    }
}
