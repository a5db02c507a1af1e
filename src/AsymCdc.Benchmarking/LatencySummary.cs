using AsymCdc.Coding.Evaluation;

namespace AsymCdc.Cli;

/// <summary>Nearest-rank percentiles of a set of latencies (exact: the demo keeps every sample).</summary>
public static class LatencySummary
{
    /// <summary>The smallest sample with at least <paramref name="percentile"/> of the samples at or below it; NaN when empty.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percentile)
    {
        if (percentile is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile is in (0, 1], e.g. 0.99");
        }

        return NearestRank.Percentile(sorted, percentile);
    }
}
