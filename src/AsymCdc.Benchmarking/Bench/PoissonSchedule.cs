namespace AsymCdc.Cli.Bench;

/// <summary>
/// Open-loop Poisson arrivals: the send time of every query, drawn up front from a seed, so every mode and scenario
/// replays the same trace and a slow answer can never delay the next send (no coordinated omission).
/// </summary>
public static class PoissonSchedule
{
    /// <summary>Send offsets from the start of the run: exponential inter-arrival gaps with mean 1/<paramref name="rate"/>,
    /// starting at zero and never decreasing.</summary>
    /// <param name="queries">How many arrivals.</param>
    /// <param name="rate">Mean arrivals per second.</param>
    /// <param name="seed">Seed of the draw; the same seed gives the same trace.</param>
    public static TimeSpan[] Create(int queries, double rate, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queries);
        if (!(rate > 0) || double.IsInfinity(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "the arrival rate must be a positive number of queries per second");
        }

        var random = new Random(seed);
        var offsets = new TimeSpan[queries];
        var seconds = 0.0;
        for (var i = 0; i < queries; i++)
        {
            offsets[i] = TimeSpan.FromSeconds(seconds);
            // Inverse-CDF draw of Exp(rate); 1 − U lies in (0, 1], so the log is finite.
            seconds += -Math.Log(1 - random.NextDouble()) / rate;
        }

        return offsets;
    }
}
