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

    /// <summary>
    /// A distribution-free 95% confidence interval for the <paramref name="percentile"/> of the population the sorted
    /// samples came from: the order statistics whose ranks bound the binomial count of samples below that percentile
    /// (normal approximation, n·q ± 1.96·√(n·q·(1−q))), clamped to the samples. With 5,000 samples the p99.9 interval
    /// runs from the 10th-largest sample to the largest: a tail figure from one run is that uncertain. Null when empty.
    /// </summary>
    public static (double Low, double High)? PercentileInterval(IReadOnlyList<double> sorted, double percentile)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (percentile is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile is in (0, 1), e.g. 0.99");
        }

        if (sorted.Count == 0)
        {
            return null;
        }

        var n = sorted.Count;
        var spread = 1.96 * Math.Sqrt(n * percentile * (1 - percentile));
        // 1-based ranks l and u with P(l ≤ rank of the true percentile ≤ u) ≈ 95%.
        var low = (int)Math.Clamp(Math.Floor((n * percentile) - spread), 1, n);
        var high = (int)Math.Clamp(Math.Ceiling((n * percentile) + spread) + 1, 1, n);
        return (sorted[low - 1], sorted[high - 1]);
    }
}
