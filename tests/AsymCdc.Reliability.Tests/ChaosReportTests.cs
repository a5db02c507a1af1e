using AsymCdc.Abstractions;
using AsymCdc.Cli;
using AsymCdc.Cli.Cluster;

namespace AsymCdc.Reliability.Tests;

/// <summary>The drill's figures (docs/RELIABILITY.md): counts, before/during split by send time, and recovery as the
/// end of the last abnormal 500 ms window after the kill.</summary>
public sealed class ChaosReportTests
{
    private static ChaosRecord Ok(double sentMs, double latencyMs = 10) => new(sentMs, latencyMs, QueryOutcome.Answered, null);

    /// <summary>One query every 10 ms for 10 s, each answered in 10 ms, except what <paramref name="change"/> alters.</summary>
    private static List<ChaosRecord> Steady(Func<ChaosRecord, ChaosRecord>? change = null) =>
        [.. Enumerable.Range(0, 1000).Select(i => Ok(i * 10.0)).Select(r => change?.Invoke(r) ?? r)];

    [Fact]
    public void An_undisturbed_run_recovers_at_once()
    {
        var report = ChaosReport.Compute(Steady(), killMs: 3000, replacedMs: 5000);

        Assert.Equal((1000, 1000, 0, 0), (report.Queries, report.Answered, report.Errors, report.Lost));
        Assert.Equal(0, report.RecoverySeconds);
        Assert.Equal(300, report.QueriesBefore);
        Assert.Equal(300, report.QueriesDuring); // sent in [3 s, 5 s + 1 s)
        Assert.Equal(1, report.P999Ratio);
        Assert.True(report.WithinTarget);
    }

    [Fact]
    public void The_ratio_says_whether_p999_during_stayed_within_twice_before()
    {
        // p99.9 of 300 answers is the slowest: 20 ms during against 10 ms before is the target's edge, 21 ms beyond it.
        var atEdge = ChaosReport.Compute(Steady(r => r.SentMs == 4000 ? r with { LatencyMs = 20 } : r), killMs: 3000, replacedMs: 5000);
        var beyond = ChaosReport.Compute(Steady(r => r.SentMs == 4000 ? r with { LatencyMs = 21 } : r), killMs: 3000, replacedMs: 5000);
        var noBefore = ChaosReport.Compute(Steady(), killMs: 0, replacedMs: 5000);

        Assert.Equal((2, true), (atEdge.P999Ratio, atEdge.WithinTarget));
        Assert.Equal((2.1, false), (beyond.P999Ratio, beyond.WithinTarget));
        Assert.Equal((null, null), (noBefore.P999Ratio, noBefore.WithinTarget));
    }

    [Fact]
    public void Recovery_ends_with_the_last_window_that_had_a_slow_or_failed_query()
    {
        var records = Steady(r => r.SentMs switch
        {
            >= 3000 and < 3400 => r with { LatencyMs = 200 },                 // window 0: slow
            4250 => r with { Outcome = QueryOutcome.Error, Error = "Unavailable" }, // window 2: an error
            _ => r,
        });

        var report = ChaosReport.Compute(records, killMs: 3000, replacedMs: 6000);

        Assert.Equal(1.5, report.RecoverySeconds);
        Assert.Equal(1, report.Errors);
        Assert.Equal(1, report.ErrorsByKind["Unavailable"]);
        Assert.Equal(200, report.P999MsDuring);
        Assert.Equal(10, report.P999MsBefore);
    }

    [Fact]
    public void A_run_that_ends_abnormal_has_not_recovered_and_counts_its_lost_queries()
    {
        var records = Steady(r => r.SentMs >= 9800 ? r with { Outcome = QueryOutcome.Lost, LatencyMs = 7000 } : r);

        var report = ChaosReport.Compute(records, killMs: 3000, replacedMs: null);

        Assert.Null(report.RecoverySeconds);
        Assert.Equal(20, report.Lost);
        Assert.Equal(20, report.LostSentSeconds.Count);
        Assert.Equal(700, report.QueriesDuring); // no replacement: "during" runs to the end of the load
    }

    [Fact]
    public void The_slowest_answers_during_are_listed_with_their_send_time_and_who_served_them()
    {
        var records = Steady(r => r.SentMs switch
        {
            2000 => r with { LatencyMs = 90 },                                             // before the kill: not listed
            3010 => r with { LatencyMs = 35, ServedBy = ServedBy.ReconstructedCompact },
            5120 => r with { LatencyMs = 60, ServedBy = ServedBy.Direct },
            5130 => r with { Outcome = QueryOutcome.Error, Error = "Unavailable", LatencyMs = 80 }, // not an answer
            9000 => r with { LatencyMs = 99 },                                             // after "during": not listed
            _ => r with { ServedBy = ServedBy.Direct },
        });

        var report = ChaosReport.Compute(records, killMs: 3000, replacedMs: 6000);

        Assert.Equal(ChaosReport.SlowestListed, report.SlowestDuring.Count);
        Assert.Equal(new SlowAnswer(5.12, 60, "direct"), report.SlowestDuring[0]);
        Assert.Equal(new SlowAnswer(3.01, 35, "reconstructed-compact"), report.SlowestDuring[1]);
        Assert.All(report.SlowestDuring.Skip(2), a => Assert.Equal(10, a.LatencyMs));
        Assert.Equal(report.P999MsDuring, report.SlowestDuring[0].LatencyMs);
    }

    [Fact]
    public void A_slow_answer_says_how_long_the_client_itself_was_stalled_while_it_was_out()
    {
        var records = Steady(r => r.SentMs switch
        {
            5120 => r with { LatencyMs = 60 },  // out over [5120, 5180)
            3010 => r with { LatencyMs = 35 },  // out over [3010, 3045): no stall meanwhile
            _ => r,
        });
        ClientStall[] stalls =
        [
            new(5100, 30, 12, StallKind.Process),     // [5100, 5130): 10 ms inside
            new(5125, 10, 0, StallKind.ThreadPool),   // [5125, 5135): overlaps the first; 5 ms more
            new(5170, 40, 0, StallKind.ThreadPool),   // [5170, 5210): 10 ms inside
            new(2000, 500, 0, StallKind.Process),     // before the answer was sent
        ];

        var report = ChaosReport.Compute(records, killMs: 3000, replacedMs: 6000, stalls);

        Assert.Equal(new SlowAnswer(5.12, 60, null, 25), report.SlowestDuring[0]);
        Assert.Equal(new SlowAnswer(3.01, 35, null, 0), report.SlowestDuring[1]);
        Assert.Null(ChaosReport.Compute(records, killMs: 3000, replacedMs: 6000).SlowestDuring[0].ClientStalledMs);
    }

    [Fact]
    public void The_client_probe_records_nothing_below_its_threshold_and_stops_when_disposed()
    {
        var probe = new ClientStallProbe(System.Diagnostics.Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(30));
        probe.Dispose();
        probe.Dispose();

        Assert.Empty(probe.Stalls);
        Assert.True(probe.GcSinceStart.PauseMs >= 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientStallProbe(0, TimeSpan.Zero));
    }
}
