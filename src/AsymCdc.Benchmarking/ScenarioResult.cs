using AsymCdc.Simulation;

namespace AsymCdc.Cli;

/// <summary>What one query of a run came to.</summary>
public enum QueryOutcome
{
    Answered,
    Error,
    Lost,
}

/// <summary>One query's record: outcome, client-side latency, whether it was reconstructed and whether it was right.</summary>
public readonly record struct QueryRecord(QueryOutcome Outcome, double LatencyMs, bool Reconstructed, bool Correct);

public static class ScenarioResults
{
    /// <summary>Summarises the records of one mode's run. Latency percentiles are over answered queries.</summary>
    public static ScenarioResult Summarise(string scenario, double stragglerRate, string mode, int k, int workers,
        IReadOnlyList<QueryRecord> records, TimeSpan elapsed, long workerCalls)
    {
        var latencies = new List<double>(records.Count);
        int answered = 0, errors = 0, lost = 0, reconstructed = 0, correct = 0;
        foreach (var r in records)
        {
            switch (r.Outcome)
            {
                case QueryOutcome.Answered:
                    answered++;
                    latencies.Add(r.LatencyMs);
                    reconstructed += r.Reconstructed ? 1 : 0;
                    correct += r.Correct ? 1 : 0;
                    break;
                case QueryOutcome.Error:
                    errors++;
                    break;
                default:
                    lost++;
                    break;
            }
        }

        latencies.Sort();
        return new ScenarioResult(scenario, stragglerRate, mode, k, workers, records.Count, answered, errors, lost, reconstructed,
            Round(LatencySummary.Percentile(latencies, 0.50)), Round(LatencySummary.Percentile(latencies, 0.99)),
            Round(LatencySummary.Percentile(latencies, 0.999)),
            Round(elapsed > TimeSpan.Zero ? answered / elapsed.TotalSeconds : 0),
            answered == 0 ? 0 : Math.Round((double)correct / answered, 4),
            records.Count == 0 ? 0 : Math.Round(((double)workerCalls / records.Count) - 1, 3));
    }

    private static double Round(double v) => double.IsNaN(v) ? 0 : Math.Round(v, 2);
}
