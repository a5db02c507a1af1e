namespace AsymCdc.Abstractions;

/// <summary>The resilience strategy a query is served with (DESIGN §3, "Modes").</summary>
public enum ServingMode
{
    /// <summary>One call per query, no redundancy.</summary>
    None = 0,
    /// <summary>A backup call after a latency percentile (Dean &amp; Barroso, "The Tail at Scale").</summary>
    Hedged = 1,
    /// <summary>Every query sent to two workers; the first answer wins.</summary>
    Replication = 2,
    /// <summary>ParM: sum encoder, learned parity model, decode by subtraction.</summary>
    Parm = 3,
    /// <summary>ApproxIFER: Berrut-coded parity, decode by rational interpolation.</summary>
    ApproxIfer = 4,
    /// <summary>AsymCDC with the exact decoder (INN inversion + recompute).</summary>
    AsymCdcExact = 5,
    /// <summary>AsymCDC with the compact (distilled) decoder.</summary>
    AsymCdcCompact = 6,
    /// <summary>Hedged or asymcdc-compact per query, whichever the live statistics say rescues a late answer sooner
    /// within the redundancy budget.</summary>
    Auto = 7,
}

/// <summary>How one answer was produced.</summary>
public enum ServedBy
{
    Direct = 0,
    ReconstructedExact = 1,
    ReconstructedCompact = 2,
    Parm = 3,
    ApproxIfer = 4,
    Replica = 5,
    Hedge = 6,
}

public static class ServingModes
{
    public static readonly IReadOnlyList<ServingMode> All =
    [
        ServingMode.None, ServingMode.Hedged, ServingMode.Replication, ServingMode.Parm,
        ServingMode.ApproxIfer, ServingMode.AsymCdcExact, ServingMode.AsymCdcCompact, ServingMode.Auto,
    ];

    /// <summary>The command-line / configuration name: none, hedged, replication, parm, approxifer, asymcdc-exact, asymcdc-compact, auto.</summary>
    public static string ToName(this ServingMode mode) => mode switch
    {
        ServingMode.None => "none",
        ServingMode.Hedged => "hedged",
        ServingMode.Replication => "replication",
        ServingMode.Parm => "parm",
        ServingMode.ApproxIfer => "approxifer",
        ServingMode.AsymCdcExact => "asymcdc-exact",
        ServingMode.AsymCdcCompact => "asymcdc-compact",
        ServingMode.Auto => "auto",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown serving mode"),
    };

    public static bool TryParse(string? name, out ServingMode mode)
    {
        foreach (var m in All)
        {
            if (string.Equals(m.ToName(), name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                mode = m;
                return true;
            }
        }

        mode = default;
        return false;
    }

    public static ServingMode Parse(string? name) => TryParse(name, out var mode)
        ? mode
        : throw new PredictionException(PredictionErrorCode.UnknownMode,
            $"unknown serving mode '{name}'; expected one of: {string.Join(", ", All.Select(m => m.ToName()))}");

    /// <summary>True for the coded modes that form parity groups of k queries.</summary>
    public static bool IsCoded(this ServingMode mode) =>
        mode is ServingMode.Parm or ServingMode.ApproxIfer or ServingMode.AsymCdcExact or ServingMode.AsymCdcCompact;

    /// <summary>True for the modes whose decoders read each member's feature map (the AsymCDC decoders, and auto's
    /// coded half): only their worker answers carry it.</summary>
    public static bool DecodesFromFeatures(this ServingMode mode) =>
        mode is ServingMode.AsymCdcExact or ServingMode.AsymCdcCompact or ServingMode.Auto;

    public static string ToName(this ServedBy servedBy) => servedBy switch
    {
        ServedBy.Direct => "direct",
        ServedBy.ReconstructedExact => "reconstructed-exact",
        ServedBy.ReconstructedCompact => "reconstructed-compact",
        ServedBy.Parm => "parm",
        ServedBy.ApproxIfer => "approxifer",
        ServedBy.Replica => "replica",
        ServedBy.Hedge => "hedge",
        _ => throw new ArgumentOutOfRangeException(nameof(servedBy)),
    };

    public static bool IsReconstruction(this ServedBy servedBy) =>
        servedBy is ServedBy.ReconstructedExact or ServedBy.ReconstructedCompact or ServedBy.Parm or ServedBy.ApproxIfer;
}
