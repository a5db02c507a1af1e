using AsymCdc.Simulation;
using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Cli;
using AsymCdc.Cli.Bench;

namespace AsymCdc.Grains.Tests;

public sealed class BenchTests
{
    [Fact]
    public void Poisson_schedule_is_seeded_starts_at_zero_and_never_goes_back()
    {
        var a = PoissonSchedule.Create(5000, 200, seed: 7);
        var b = PoissonSchedule.Create(5000, 200, seed: 7);
        var c = PoissonSchedule.Create(5000, 200, seed: 8);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(TimeSpan.Zero, a[0]);
        for (var i = 1; i < a.Length; i++)
        {
            Assert.True(a[i] >= a[i - 1], $"arrival {i} at {a[i]} precedes arrival {i - 1} at {a[i - 1]}");
        }
    }

    [Theory]
    [InlineData(50.0)]
    [InlineData(1000.0)]
    public void Poisson_schedule_has_mean_gap_one_over_rate_and_exponential_spread(double rate)
    {
        const int queries = 20_001;
        var schedule = PoissonSchedule.Create(queries, rate, seed: 3);
        var gaps = Enumerable.Range(1, queries - 1).Select(i => (schedule[i] - schedule[i - 1]).TotalSeconds).ToArray();
        var mean = gaps.Average();
        var sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());

        // Exp(rate): mean = sd = 1/rate; 20,000 gaps put the sample mean within 0.7% (1 sd) of it, so 4% is ~6 sd.
        Assert.InRange(mean * rate, 0.96, 1.04);
        Assert.InRange(sd * rate, 0.93, 1.07);
        // A Poisson process, not a fixed interval: about e^-1 of the gaps exceed the mean.
        Assert.InRange(gaps.Count(g => g > 1 / rate) / (double)gaps.Length, 0.34, 0.40);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-5.0)]
    [InlineData(double.NaN)]
    public void Poisson_schedule_rejects_a_rate_that_is_not_positive(double rate)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => PoissonSchedule.Create(10, rate, 1));
        Assert.Contains("rate", e.Message);
    }

    [Fact]
    public void Options_name_the_bad_setting()
    {
        var options = BenchOptions.Quick();
        options.K = 4;
        options.Workers = 4;

        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("workers = 4", e.Message);
        Assert.Contains("k+1 = 5", e.Message);

        var rounds = BenchOptions.Quick();
        rounds.Rounds = 0;
        Assert.Contains("rounds = 0 must be in 1..100", Assert.Throws<ArgumentException>(rounds.Validate).Message);
    }

    [Fact]
    public void Summary_reads_percentiles_from_the_histogram_and_counts_every_outcome()
    {
        var options = new BenchOptions { K = 2, Workers = 3 };
        var records = new List<QueryRecord>();
        for (var i = 1; i <= 1000; i++)
        {
            records.Add(new QueryRecord(QueryOutcome.Answered, i, Reconstructed: i % 10 == 0, Correct: i % 2 == 0));
        }

        records.Add(new QueryRecord(QueryOutcome.Lost, 7000, false, false));
        records.Add(new QueryRecord(QueryOutcome.Error, 3, false, false));

        var row = new BenchRunner(options, TestModels.Data).Summarise("s", 0.01, "none", records, TimeSpan.FromSeconds(10), workerCalls: 1503);

        Assert.Equal(1002, row.Queries);
        Assert.Equal(1000, row.Answered);
        Assert.Equal(1, row.Lost);
        Assert.Equal(1, row.Errors);
        Assert.Equal(100, row.Reconstructed);
        Assert.Equal(0.5, row.Accuracy);
        Assert.Equal(0.5, row.ExtraWorkRatio, 3);
        // Latencies 1..1000 ms: HdrHistogram with 3 significant digits is within 0.1% of the exact nearest rank.
        Assert.Equal(500, row.P50Ms, 500 * 0.001);
        Assert.Equal(990, row.P99Ms, 990 * 0.001);
        Assert.Equal(999, row.P999Ms, 999 * 0.001);
    }

    [Fact]
    public void Json_has_the_demo_schema_and_round_trips()
    {
        var report = Report(Row("stragglers-1%", "none", p99: 40, p999: 80), Row("stragglers-1%", "asymcdc-compact", p99: 10, p999: 20));

        var json = BenchReportWriter.ToJson(report);
        using var document = JsonDocument.Parse(json);
        var row = document.RootElement.GetProperty("results")[1];
        foreach (var key in new[] { "scenario", "straggler_rate", "mode", "k", "workers", "queries", "answered", "errors", "lost", "reconstructed", "p50_ms", "p99_ms", "p999_ms", "throughput_qps", "accuracy", "extra_work_ratio" })
        {
            Assert.True(row.TryGetProperty(key, out _), $"results[1] lacks '{key}'");
        }

        Assert.Equal("asymcdc-compact", row.GetProperty("mode").GetString());
        Assert.Equal(2, document.RootElement.GetProperty("config").GetProperty("k").GetInt32());
        Assert.Equal(report.Results, BenchReportWriter.FromJson(json)!.Results);
    }

    [Fact]
    public void Markdown_has_one_table_per_scenario_with_ratios_to_none()
    {
        var report = Report(
            Row("stragglers-0%", "none", p99: 8, p999: 9),
            Row("stragglers-0%", "asymcdc-exact", p99: 8, p999: 18),
            Row("stragglers-5%", "none", p99: 40, p999: 80),
            Row("stragglers-5%", "asymcdc-exact", p99: 10, p999: 20));

        var md = BenchReportWriter.ToMarkdown(report);

        Assert.Contains("## stragglers-0%", md);
        Assert.Contains("## stragglers-5%", md);
        Assert.Contains("| asymcdc-exact | 5.00 | 8.00 | 18.00 | — | 1.00 | 1.00 | 2.00 |", md);
        Assert.Contains("| asymcdc-exact | 5.00 | 10.00 | 20.00 | — | 1.00 | 0.25 | 0.25 |", md);
        Assert.DoesNotContain("`auto`", md);
        Assert.Contains("`auto` codes with parm.", BenchReportWriter.ToMarkdown(report with { Config = report.Config with { AutoCoder = "parm" } }));
        Assert.Contains("`auto` only hedges", BenchReportWriter.ToMarkdown(report with { Config = report.Config with { AutoCoder = "hedged" } }));
    }

    [Fact]
    public void Rounds_cut_the_trace_into_rebased_slices_that_cover_it_once()
    {
        var schedule = PoissonSchedule.Create(1003, 100, seed: 5);

        var rounds = BenchRunner.Rounds(schedule, 5, TimeSpan.Zero);

        Assert.Equal([0, 200, 401, 601, 802], rounds.Select(r => r.First));
        Assert.Equal(1003, rounds.Sum(r => r.Slice.Length));
        Assert.All(rounds, r =>
        {
            Assert.Equal(TimeSpan.Zero, r.Slice[0]);
            for (var i = 0; i < r.Slice.Length; i++)
            {
                Assert.Equal(schedule[r.First + i] - schedule[r.First], r.Slice[i]);
            }
        });
        // A periodic slowdown: a slice spans at least one period (the trace is about 10 s).
        Assert.Equal(3, BenchRunner.Rounds(schedule, 5, TimeSpan.FromSeconds(3)).Count);
        Assert.Single(BenchRunner.Rounds(schedule, 5, TimeSpan.FromSeconds(30)));
        Assert.Equal(3, BenchRunner.Rounds(schedule[..3], 5, TimeSpan.Zero).Count);
    }

    [Fact]
    public void A_percentiles_interval_covers_the_true_percentile_about_95_times_in_100()
    {
        // Exponential latencies (mean 1): the true p99 is ln(100), the true p99.9 ln(1000).
        var random = new Random(11);
        var (covered99, covered999, trials) = (0, 0, 400);
        for (var t = 0; t < trials; t++)
        {
            var sorted = Enumerable.Range(0, 5000).Select(_ => -Math.Log(1 - random.NextDouble())).Order().ToList();
            var (lo99, hi99) = LatencySummary.PercentileInterval(sorted, 0.99)!.Value;
            var (lo999, hi999) = LatencySummary.PercentileInterval(sorted, 0.999)!.Value;
            covered99 += lo99 <= Math.Log(100) && Math.Log(100) <= hi99 ? 1 : 0;
            covered999 += lo999 <= Math.Log(1000) && Math.Log(1000) <= hi999 ? 1 : 0;
            Assert.Equal(sorted[4989], lo999); // ranks 4990..5000 of 5000: the 10th-largest to the largest
            Assert.Equal(sorted[4999], hi999);
        }

        Assert.InRange(covered99 / (double)trials, 0.92, 0.99);
        Assert.InRange(covered999 / (double)trials, 0.92, 1.0);
        Assert.Null(LatencySummary.PercentileInterval([], 0.99));
    }

    [Fact]
    public void A_comparison_says_whether_the_run_tells_two_modes_apart()
    {
        ScenarioResult With(string mode, double p99, double[] ci99, double p999, double[] ci999) =>
            Row("stragglers-1%", mode, p99, p999) with { P99CiMs = ci99, P999CiMs = ci999 };
        var rows = new[]
        {
            With("hedged", 10, [9, 11], 20, [15, 40]),
            With("asymcdc-compact", 8, [7, 8.5], 18, [14, 30]),
        };

        Assert.Equal("asymcdc-compact ÷ hedged: p99 0.80 (lower: the intervals do not overlap), p99.9 0.90 (the intervals overlap: not told apart).",
            BenchReportWriter.Compare(rows, "asymcdc-compact", "hedged"));
        Assert.Contains("higher: the intervals do not overlap", BenchReportWriter.Compare(rows, "hedged", "asymcdc-compact"));
        Assert.Null(BenchReportWriter.Compare([rows[0]], "asymcdc-compact", "hedged"));
        Assert.Null(BenchReportWriter.Compare([Row("s", "hedged", 1, 2), Row("s", "asymcdc-compact", 1, 2)], "asymcdc-compact", "hedged"));
        Assert.Equal("15.00–40.00", BenchReportWriter.Interval([15, 40]));
        Assert.Contains("| hedged | 5.00 | 10.00 | 20.00 | 15.00–40.00 |", BenchReportWriter.ToMarkdown(Report(rows)));
    }

    [Fact]
    public void A_ratio_without_a_none_row_is_a_dash()
    {
        Assert.Equal("—", BenchReportWriter.Ratio(5, null));
        Assert.Equal("—", BenchReportWriter.Ratio(5, 0));
        Assert.Equal("0.50", BenchReportWriter.Ratio(5, 10));
    }

    [Fact]
    public async Task A_tiny_bench_through_a_local_cluster_loses_nothing_and_writes_every_row()
    {
        var options = TinyBench(150, [0, 0.05], ServingMode.None, ServingMode.AsymCdcCompact);
        options.Rounds = 3; // each mode's 150 queries as three slices of 50, the modes in turn
        var notes = new List<string>();

        var report = await new BenchRunner(options, TestModels.Data) { OnNote = notes.Add }.RunAsync();

        Assert.Equal(4, report.Results.Count);
        foreach (var scenario in new[] { "stragglers-0%", "stragglers-5%" })
        {
            foreach (var mode in new[] { "none", "asymcdc-compact" })
            {
                var row = Assert.Single(report.Results, r => r.Scenario == scenario && r.Mode == mode);
                Assert.Equal(0, row.Lost);
                Assert.Equal(options.Queries, row.Answered + row.Errors + row.Lost);
                Assert.True(row.P50Ms <= row.P99Ms && row.P99Ms <= row.P999Ms, $"{scenario} {mode}: percentiles out of order");
                Assert.True(row.P999CiMs is [var low, var high] && low <= high, $"{scenario} {mode}: no p99.9 interval");
            }
        }

        // No redundancy in none; one parity per group of (at most) k in the coded mode.
        Assert.All(report.Results.Where(r => r.Mode == "none"), r => Assert.Equal(0, r.ExtraWorkRatio));
        Assert.All(report.Results.Where(r => r.Mode == "asymcdc-compact"), r => Assert.InRange(r.ExtraWorkRatio, 0.45, 1.0));
        Assert.Contains(notes, n => n.StartsWith("Median service time", StringComparison.Ordinal));
        Assert.Null(report.Config.AutoCoder); // auto was not run
        Assert.Equal(3, report.Config.Rounds);

        var dir = Directory.CreateTempSubdirectory("asymcdc-bench-test");
        try
        {
            var png = Path.Combine(dir.FullName, "latency.png");
            LatencyPlot.Save(report, png, 600, 300);
            var header = File.ReadAllBytes(png).Take(8).ToArray();
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, header);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_bench_of_a_user_model_sends_its_own_data_and_skips_the_modes_it_lacks()
    {
        var options = TinyBench(120, [0.05], ServingMode.Hedged, ServingMode.AsymCdcExact, ServingMode.AsymCdcCompact, ServingMode.Auto);
        options.Model = "digits-mlp";
        var notes = new List<string>();
        var (model, data) = ServedData.Resolve(TestModels.Directory, "digits-mlp");

        var report = await new BenchRunner(options, data) { OnNote = notes.Add }.RunAsync();

        Assert.Equal("digits-mlp", model.Name);
        Assert.Equal("digits-mlp", report.Config.Model);
        Assert.Equal(["hedged", "asymcdc-compact", "auto"], report.Results.Select(r => r.Mode));
        Assert.Contains(notes, n => n.Contains("Skipping mode asymcdc-exact: model 'digits-mlp' lacks an inverse", StringComparison.Ordinal));
        // No ParM parity model: auto codes with its compact decoder (agreement 0.9844), and the report says so.
        Assert.Equal("asymcdc-compact", report.Config.AutoCoder);
        Assert.Contains(notes, n => n.StartsWith("auto at k = 2: codes with asymcdc-compact (agreement 0.9844", StringComparison.Ordinal));
        // Its own 8x8 digits: it is 98% accurate on them, so the answers are its own predictions, not noise.
        Assert.All(report.Results, r =>
        {
            Assert.Equal(options.Queries, r.Answered);
            Assert.True(r.Accuracy >= 0.9, $"{r.Mode}: accuracy {r.Accuracy}");
        });
    }

    [Fact]
    public async Task A_bench_gives_every_silo_its_settings_and_its_report_records_them()
    {
        var options = TinyBench(40, [0], ServingMode.AsymCdcCompact);
        options.Settings["AsymCdc:Inference:ParityInstances"] = "0";

        var report = await new BenchRunner(options, TestModels.Data).RunAsync();

        Assert.Equal(new Dictionary<string, string?> { ["AsymCdc:Inference:ParityInstances"] = "0" }, report.Config.Settings);
        var markdown = BenchReportWriter.ToMarkdown(report);
        Assert.Contains("Every silo also had: `AsymCdc:Inference:ParityInstances=0`.", markdown, StringComparison.Ordinal);
        // Groups as the silos ship them: the report says which window and how many shards the run had.
        Assert.Equal(new ServingOptions().GroupWindow.TotalMilliseconds, report.Config.GroupWindowMs);
        Assert.Equal(new ServingOptions().GroupShards, report.Config.GroupShards);
        Assert.Contains("group window 5 ms over 2 group shards", markdown, StringComparison.Ordinal);
        Assert.Equal(options.Queries, Assert.Single(report.Results).Answered);

        // A setting the silos refuse stops the bench before it measures anything, naming the key.
        options.Settings["AsymCdc:Inference:ParityInstances"] = "-1";
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => new BenchRunner(options, TestModels.Data).RunAsync());
        Assert.Contains("AsymCdc:Inference:ParityInstances is -1", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A bench small enough for a test: 3 workers, k = 2, 60 queries/s, stragglers 40 ms late.</summary>
    private static BenchOptions TinyBench(int queries, double[] stragglerRates, params ServingMode[] modes) => new()
    {
        K = 2,
        Workers = 3,
        Queries = queries,
        WarmupQueries = 20,
        Rate = 60,
        StragglerRates = stragglerRates,
        StragglerDelay = TimeSpan.FromMilliseconds(40),
        Modes = modes,
        ModelRepository = TestModels.Directory,
    };

    private static BenchReport Report(params ScenarioResult[] rows) => new(
        new BenchConfig("quick", 2, 4, 100, 10, 50, "poisson", 1, [0, 0.05], 2, 40, 6, "adaptive", 3, 10, 5000, ["none", "asymcdc-exact"], "models", 2, "Linux"),
        rows);

    private static ScenarioResult Row(string scenario, string mode, double p99, double p999) =>
        new(scenario, 0.01, mode, 2, 4, 100, 100, 0, 0, 0, 5, p99, p999, 50, 0.9, mode == "none" ? 0 : 0.5);
}
