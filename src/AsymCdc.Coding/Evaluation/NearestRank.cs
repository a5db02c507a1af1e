namespace AsymCdc.Coding.Evaluation;

/// <summary>Nearest-rank percentiles: the one definition the evaluator, the CLI's latency summaries and the device check
/// report with (exact, on every sample kept).</summary>
public static class NearestRank
{
    /// <summary>The smallest of the <paramref name="sorted"/> samples with at least <paramref name="quantile"/> of them at or
    /// below it (the smallest sample for 0); NaN when there are none.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double quantile)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (quantile is < 0 or > 1 || double.IsNaN(quantile))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "a quantile is in [0, 1], e.g. 0.99");
        }

        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(quantile * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
