using System.Text.Json.Serialization;
using AsymCdc.Abstractions;

namespace AsymCdc.Cli.Cluster;

/// <summary>
/// The outcome of a chaos drill (docs/RELIABILITY.md defines each field). Latency percentiles are over answered queries,
/// grouped by send time: <c>before</c> = sent before the first kill; <c>during</c> = sent from the kill until one
/// second after the last killed silo's replacement answered ready (or the end of the load).
/// </summary>
public sealed record ChaosReport(
    [property: JsonPropertyName("queries")] int Queries,
    [property: JsonPropertyName("answered")] int Answered,
    [property: JsonPropertyName("errors")] int Errors,
    [property: JsonPropertyName("lost")] int Lost,
    [property: JsonPropertyName("p999_ms_before")] double P999MsBefore,
    [property: JsonPropertyName("p999_ms_during")] double P999MsDuring,
    [property: JsonPropertyName("recovery_s")] double? RecoverySeconds,
    [property: JsonPropertyName("p50_ms_before")] double P50MsBefore,
    [property: JsonPropertyName("p50_ms_during")] double P50MsDuring,
    [property: JsonPropertyName("queries_before")] int QueriesBefore,
    [property: JsonPropertyName("queries_during")] int QueriesDuring,
    [property: JsonPropertyName("errors_by_kind")] IReadOnlyDictionary<string, int> ErrorsByKind,
    [property: JsonPropertyName("lost_sent_s")] IReadOnlyList<double> LostSentSeconds,
    [property: JsonPropertyName("slowest_during")] IReadOnlyList<SlowAnswer> SlowestDuring)
{
    /// <summary>The target of a drill (docs/RELIABILITY.md): p99.9 during the kill at most this many times the p99.9
    /// before it.</summary>
    public const double TargetRatio = 2;

    /// <summary>p99.9 during ÷ p99.9 before (null without an answered query before the kill).</summary>
    [JsonPropertyName("p999_during_over_before")]
    public double? P999Ratio => P999MsBefore > 0 ? Math.Round(P999MsDuring / P999MsBefore, 2) : null;

    /// <summary>Whether p99.9 during stayed within <see cref="TargetRatio"/> × before (null when there is no ratio).</summary>
    [JsonPropertyName("p999_within_target")]
    public bool? WithinTarget => P999MsBefore > 0 ? P999MsDuring <= TargetRatio * P999MsBefore : null;

    /// <summary>Recovery is judged in windows of this length (by send time).</summary>
    public static readonly TimeSpan Bin = TimeSpan.FromMilliseconds(500);

    /// <summary>How many of the slowest answers "during" the report lists: p99.9 of a drill's ~1,000 queries "during"
    /// is its slowest answer, so when it was sent (the kill, the death's declaration, the replacement's join) says what
    /// set it.</summary>
    public const int SlowestListed = 5;

    /// <summary>
    /// Summarises a run. <paramref name="killMs"/>: when the first SIGKILL was sent; <paramref name="replacedMs"/>: when
    /// the last replacement answered ready (null if it did not before the end). Both in ms after the load began.
    /// <para><c>recovery_s</c> = end of the last abnormal 500 ms window after the kill, minus the kill time (0 when none
    /// is abnormal; null when the last window of the run is still abnormal). A window is normal when every query sent in
    /// it was answered (no error, none lost) within 2 × the p99.9 before the kill: throughput is back (open loop: all
    /// sent are answered) and so is latency.</para>
    /// <para><paramref name="clientStalls"/>, when the drill watched its own process: each slow answer says how long the
    /// client itself was stalled while the answer was out.</para>
    /// </summary>
    public static ChaosReport Compute(IReadOnlyList<ChaosRecord> records, double killMs, double? replacedMs,
        IReadOnlyList<ClientStall>? clientStalls = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var lastSent = records.Count == 0 ? 0 : records.Max(r => r.SentMs);
        var duringEnd = Math.Min(replacedMs is { } r0 ? r0 + 1000 : double.MaxValue, lastSent + 1);
        var before = AnsweredLatencies(records.Where(r => r.SentMs < killMs));
        var during = AnsweredLatencies(records.Where(r => r.SentMs >= killMs && r.SentMs < duringEnd));
        var p999Before = LatencySummary.Percentile(before, 0.999);
        var errorsByKind = records.Where(r => r.Outcome == QueryOutcome.Error)
            .GroupBy(r => r.Error ?? "unknown").ToDictionary(g => g.Key, g => g.Count());

        return new ChaosReport(
            records.Count,
            records.Count(r => r.Outcome == QueryOutcome.Answered),
            records.Count(r => r.Outcome == QueryOutcome.Error),
            records.Count(r => r.Outcome == QueryOutcome.Lost),
            Round(p999Before),
            Round(LatencySummary.Percentile(during, 0.999)),
            RecoveryAfter(records, killMs, lastSent, 2 * p999Before),
            Round(LatencySummary.Percentile(before, 0.5)),
            Round(LatencySummary.Percentile(during, 0.5)),
            records.Count(r => r.SentMs < killMs),
            records.Count(r => r.SentMs >= killMs && r.SentMs < duringEnd),
            errorsByKind,
            [.. records.Where(r => r.Outcome == QueryOutcome.Lost).Select(r => Math.Round(r.SentMs / 1000, 2))],
            [.. records.Where(r => r.Outcome == QueryOutcome.Answered && r.SentMs >= killMs && r.SentMs < duringEnd)
                .OrderByDescending(r => r.LatencyMs).Take(SlowestListed)
                .Select(r => new SlowAnswer(Math.Round(r.SentMs / 1000, 3), Round(r.LatencyMs), r.ServedBy?.ToName(),
                    clientStalls is null ? null : ClientStall.StalledMs(clientStalls, r.SentMs, r.SentMs + r.LatencyMs)))]);
    }

    private static double? RecoveryAfter(IReadOnlyList<ChaosRecord> records, double killMs, double lastSent, double normalLatencyMs)
    {
        if (double.IsNaN(normalLatencyMs))
        {
            return null;
        }

        var binMs = Bin.TotalMilliseconds;
        var bins = (int)Math.Floor((lastSent - killMs) / binMs) + 1;
        if (bins <= 0)
        {
            return null;
        }

        var abnormal = new bool[bins];
        foreach (var r in records)
        {
            if (r.SentMs < killMs)
            {
                continue;
            }

            var bin = (int)((r.SentMs - killMs) / binMs);
            abnormal[bin] |= r.Outcome != QueryOutcome.Answered || r.LatencyMs > normalLatencyMs;
        }

        var lastAbnormal = Array.LastIndexOf(abnormal, true);
        if (lastAbnormal == bins - 1)
        {
            return null;
        }

        return lastAbnormal < 0 ? 0 : Math.Round((lastAbnormal + 1) * binMs / 1000, 2);
    }

    private static List<double> AnsweredLatencies(IEnumerable<ChaosRecord> records)
    {
        var latencies = records.Where(r => r.Outcome == QueryOutcome.Answered).Select(r => r.LatencyMs).ToList();
        latencies.Sort();
        return latencies;
    }

    private static double Round(double v) => double.IsNaN(v) ? 0 : Math.Round(v, 2);
}

/// <summary>One slow answer of a drill: when it was sent (s after the load began), how long it took, who served it
/// (<c>direct</c>, <c>reconstructed-*</c>...), and how long the drill's own client process was stalled meanwhile (null
/// when it was not watched).</summary>
public sealed record SlowAnswer(
    [property: JsonPropertyName("sent_s")] double SentSeconds,
    [property: JsonPropertyName("latency_ms")] double LatencyMs,
    [property: JsonPropertyName("served_by")] string? ServedBy,
    [property: JsonPropertyName("client_stalled_ms")] double? ClientStalledMs = null);
