using AsymCdc.Coding;

namespace AsymCdc.Serving;

/// <summary>The knobs of a strategy, whatever carries it.</summary>
/// <param name="K">Data queries per parity group (coded modes).</param>
/// <param name="InputLength">Values per query input (the encoder's row length).</param>
/// <param name="GroupWindow">A partial group is sealed this long after its first member.</param>
/// <param name="HedgePercentile">Hedged: the backup goes out after this percentile of recent latencies.</param>
/// <param name="HedgeFallback">Hedged: the backup delay before any latency is known.</param>
/// <param name="FirstGroupId">Coded: the id of the first group (group ids increase from it).</param>
public sealed record StrategySettings(int K, int InputLength, TimeSpan GroupWindow, double HedgePercentile, TimeSpan HedgeFallback, long FirstGroupId)
{
    /// <summary>asymcdc-exact decodes a member as soon as the other k' answers are in (its reconstruction is exact).</summary>
    public bool EagerExactDecode { get; init; }

    /// <summary><c>auto</c>: extra worker calls per query it may spend; null: 1/k (what the coded mode spends).</summary>
    public double? RedundancyBudget { get; init; }

    /// <summary><c>auto</c>: why it cannot code for this model (no decoder it may use; <see cref="AutoCoding.Choose"/>
    /// says why), so that it only hedges; null: coding is available.</summary>
    public string? CodingUnavailable { get; init; }

    /// <summary><c>auto</c>: the coded mode of its coded half, <c>parm</c> or <c>asymcdc-compact</c> (<see cref="AutoCoding"/>).</summary>
    public string AutoCoder { get; init; } = AutoCoding.Compact;

    /// <summary>The group window follows the arrival rate, up to <see cref="GroupWindow"/> (see <see cref="GroupBatcher{TWorker,TAnswer}.WindowNow"/>).</summary>
    public bool WindowFromArrivals { get; init; }
}

/// <summary>One strategy per serving mode, by the mode's configuration name.</summary>
public static class ServingStrategies
{
    /// <summary>The modes' configuration names, in the order of the product's tables.</summary>
    public static readonly IReadOnlyList<string> Modes =
        ["none", "hedged", "replication", "parm", "approxifer", "asymcdc-exact", "asymcdc-compact", "auto"];

    /// <param name="codedTrigger"><c>auto</c>: the trigger of its coded half (its hedged half uses <paramref name="trigger"/>
    /// only for service times); null: a second trigger of the kind <paramref name="trigger"/> cannot be shared.</param>
    public static ServingStrategy<TWorker, TAnswer> Create<TWorker, TAnswer>(string mode, StrategySettings settings,
        IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger,
        ReconstructionTrigger? codedTrigger = null)
        where TAnswer : class
    {
        ArgumentNullException.ThrowIfNull(settings);
        return mode switch
        {
            "none" => new SingleCallStrategy<TWorker, TAnswer>(host, observer, trigger),
            "replication" => new ReplicationStrategy<TWorker, TAnswer>(host, observer, trigger),
            "hedged" => new HedgedStrategy<TWorker, TAnswer>(host, observer, trigger, settings.HedgePercentile, settings.HedgeFallback),
            // ParM: X_p = Σ X_i, served by the learned parity model f_P.
            "parm" => Coded(SumEncoder.Encode),
            // ApproxIFER: the Berrut interpolant of the members at the parity node, served by the deployed model.
            "approxifer" => Coded(BerrutEncoder.Encode),
            // AsymCDC: X_p = (1/k')·Σ X_i, served by the deployed model itself.
            "asymcdc-exact" or "asymcdc-compact" => Coded(MeanEncoder.Encode),
            "auto" => new AutoStrategy<TWorker, TAnswer>(host, observer, trigger, settings, codedTrigger ?? trigger),
            _ => throw new ArgumentException($"unknown serving mode '{mode}'; expected one of: {string.Join(", ", Modes)}", nameof(mode)),
        };

        CodedStrategy<TWorker, TAnswer> Coded(ParityEncoder encode) => new(mode, host, observer, trigger, encode,
            settings.K, settings.InputLength, settings.GroupWindow, settings.FirstGroupId, settings.WindowFromArrivals)
        {
            DecodeWhenOthersIn = settings.EagerExactDecode && mode == "asymcdc-exact",
        };
    }
}
