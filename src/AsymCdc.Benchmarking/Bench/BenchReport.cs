using AsymCdc.Simulation;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AsymCdc.Cli.Bench;

/// <summary>The settings a benchmark ran with, written next to its results so a number can be traced to its run.</summary>
public sealed record BenchConfig(
    [property: JsonPropertyName("preset")] string Preset,
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("workers")] int Workers,
    [property: JsonPropertyName("queries")] int Queries,
    [property: JsonPropertyName("warmup_queries")] int WarmupQueries,
    [property: JsonPropertyName("rate_qps")] double RateQps,
    [property: JsonPropertyName("arrivals")] string Arrivals,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("straggler_rates")] IReadOnlyList<double> StragglerRates,
    [property: JsonPropertyName("service_time_ms")] double ServiceTimeMs,
    [property: JsonPropertyName("straggler_delay_ms")] double StragglerDelayMs,
    [property: JsonPropertyName("straggler_deadline_ms")] double StragglerDeadlineMs,
    [property: JsonPropertyName("deadline")] string Deadline,
    [property: JsonPropertyName("deadline_median_factor")] double DeadlineMedianFactor,
    [property: JsonPropertyName("group_window_ms")] double GroupWindowMs,
    [property: JsonPropertyName("timeout_ms")] double TimeoutMs,
    [property: JsonPropertyName("modes")] IReadOnlyList<string> Modes,
    [property: JsonPropertyName("models")] string Models,
    [property: JsonPropertyName("processor_count")] int ProcessorCount,
    [property: JsonPropertyName("os")] string OperatingSystem)
{
    /// <summary>The served model every query went to.</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "fmnist";

    /// <summary>The rate as a fraction of the capacity of the most expensive mode; null when a rate was given.</summary>
    [JsonPropertyName("load")] public double? Load { get; init; }

    /// <summary>Each mode's measured capacity (queries/s), when the rate came from a load.</summary>
    [JsonPropertyName("capacities_qps")] public IReadOnlyDictionary<string, double>? CapacitiesQps { get; init; }

    /// <summary>Slices of the trace the modes ran in turn (<c>BenchOptions.Rounds</c>; the periodic slow-node scenario
    /// runs fewer where its trace is shorter than that many slow periods); absent in reports from before rounds (1).</summary>
    [JsonPropertyName("rounds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Rounds { get; init; }

    /// <summary>Parity-group grains per mode the frontend spread queries over; absent in reports from before it was
    /// recorded (those ran one).</summary>
    [JsonPropertyName("group_shards"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? GroupShards { get; init; }

    /// <summary>The delay added to every call of the slowed worker in the slow-silo scenarios (ms).</summary>
    [JsonPropertyName("slow_silo_ms")] public double? SlowSiloMs { get; init; }

    /// <summary>The decoder <c>auto</c> coded with (<c>parm</c>, <c>asymcdc-compact</c>; <c>hedged</c>: it could not code),
    /// by the cluster's rule (AutoCoding) at the default AutoMinAgreement; absent when auto was not run.</summary>
    [JsonPropertyName("auto_coder"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AutoCoder { get; init; }

    /// <summary>Configuration given to every silo besides the bench's own (<c>--set</c>); absent when none was.</summary>
    [JsonPropertyName("settings"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string?>? Settings { get; init; }
}

/// <summary>What <c>asymcdc bench</c> writes: the demo's schema, <c>{"config":{...},"results":[...]}</c>.</summary>
public sealed record BenchReport(
    [property: JsonPropertyName("config")] BenchConfig Config,
    [property: JsonPropertyName("results")] IReadOnlyList<ScenarioResult> Results);

/// <summary>Writes a <see cref="BenchReport"/> as <c>results.json</c> and <c>results.md</c>.</summary>
public static class BenchReportWriter
{
    public const string NoneMode = "none";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(report, s_json);

    public static BenchReport? FromJson(string json) => JsonSerializer.Deserialize<BenchReport>(json, s_json);

    /// <summary>Writes results.json, results.md and latency.png to <paramref name="outDir"/>; returns their paths.</summary>
    public static async Task<(string Json, string Markdown, string Png)> WriteAsync(BenchReport report, string outDir, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(outDir);
        var (json, markdown, png) = (Path.Combine(outDir, "results.json"), Path.Combine(outDir, "results.md"), Path.Combine(outDir, "latency.png"));
        await File.WriteAllTextAsync(json, ToJson(report), cancellationToken);
        await File.WriteAllTextAsync(markdown, ToMarkdown(report), cancellationToken);
        LatencyPlot.Save(report, png);
        return (json, markdown, png);
    }

    /// <summary>One table per scenario, every latency also as a ratio to <c>none</c> in the same scenario (below 1 is
    /// better than no redundancy); "—" where that scenario has no <c>none</c> row.</summary>
    public static string ToMarkdown(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var c = report.Config;
        var md = new StringBuilder();
        var auto = c.AutoCoder switch { null => "", "hedged" => " `auto` only hedges (no decoder it may code with).", var coder => $" `auto` codes with {coder}." };
        var rounds = c.Rounds is > 1 and var n
            ? $" The modes ran the trace in {n} rounds (slice r in every mode in turn, then slice r + 1; fewer where a periodic slowdown needs a whole period per slice)."
            : "";
        md.AppendLine(CultureInfo.InvariantCulture, $"# asymcdc bench ({c.Preset})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"k = {c.K}, {c.Workers} worker silos + 1 frontend, {c.Queries} queries per mode and scenario ({c.Arrivals} arrivals at {c.RateQps:0.#} queries/s, seed {c.Seed}), "
            + $"a straggling worker call is delayed {c.StragglerDelayMs:0.#} ms (median service time {c.ServiceTimeMs:0.###} ms), "
            + $"straggler deadline {c.DeadlineText()}, group window {c.GroupWindowMs:0.#} ms{(c.GroupShards is { } shards ? $" over {shards} group shard{(shards == 1 ? "" : "s")}" : "")}, {c.ProcessorCount} cores, {c.OperatingSystem}.{auto}{rounds}");
        if (c.Settings is { Count: > 0 } settings)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Every silo also had: {string.Join(", ", settings.Select(kv => $"`{kv.Key}={kv.Value}`"))}.");
        }

        md.AppendLine();
        md.AppendLine("Latency is client-side, from each query's scheduled send time, in ms; ratios are mode ÷ `none` in the same scenario. "
            + "The p99.9 interval is a distribution-free 95% confidence interval from the order statistics of the answered queries: "
            + "two modes whose intervals overlap are not told apart by this run.");
        foreach (var scenario in report.Results.Select(r => r.Scenario).Distinct())
        {
            var rows = report.Results.Where(r => r.Scenario == scenario).ToList();
            var none = rows.FirstOrDefault(r => r.Mode == NoneMode);
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## {scenario} (straggler rate {rows[0].StragglerRate:0.##%}{(scenario.StartsWith("slow", StringComparison.Ordinal) ? string.Create(CultureInfo.InvariantCulture, $"; worker 0 slowed {c.SlowSiloMs:0.#} ms per call") : "")})");
            md.AppendLine();
            md.AppendLine("| mode | p50 | p99 | p99.9 | p99.9 95% CI | p50 ÷ none | p99 ÷ none | p99.9 ÷ none | answered | errors | lost | reconstructed | decode p50 | accuracy | extra work | qps |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Mode} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.P999Ms:0.00} | {Interval(r.P999CiMs)} | {Ratio(r.P50Ms, none?.P50Ms)} | {Ratio(r.P99Ms, none?.P99Ms)} | {Ratio(r.P999Ms, none?.P999Ms)} "
                    + $"| {r.Answered} | {r.Errors} | {r.Lost} | {r.Reconstructed} | {(r.DecodeP50Ms is { } d ? d.ToString("0.000", CultureInfo.InvariantCulture) : "—")} | {r.Accuracy:0.0000} | {r.ExtraWorkRatio:0.000} | {r.ThroughputQps:0.#} |");
            }

            if (Compare(rows, "asymcdc-compact", "hedged") is { } verdict)
            {
                md.AppendLine();
                md.AppendLine(verdict);
            }
        }

        return md.ToString();
    }

    /// <summary>"[low, high]" of a confidence interval; "—" without one.</summary>
    public static string Interval(double[]? interval) =>
        interval is [var low, var high] ? string.Create(CultureInfo.InvariantCulture, $"{low:0.00}–{high:0.00}") : "—";

    /// <summary>
    /// <paramref name="mode"/> against <paramref name="baseline"/> in one scenario, at p99 and p99.9: the ratio, and
    /// whether this run tells them apart (their 95% intervals do not overlap); null where either row or an interval is
    /// missing.
    /// </summary>
    public static string? Compare(IReadOnlyList<ScenarioResult> rows, string mode, string baseline)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var (a, b) = (rows.FirstOrDefault(r => r.Mode == mode), rows.FirstOrDefault(r => r.Mode == baseline));
        if (a is null || b is null || a.P99CiMs is not [_, _] || b.P99CiMs is not [_, _] || a.P999CiMs is not [_, _] || b.P999CiMs is not [_, _])
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{mode} ÷ {baseline}: p99 {Ratio(a.P99Ms, b.P99Ms)} ({Verdict(a.P99CiMs, b.P99CiMs)}), p99.9 {Ratio(a.P999Ms, b.P999Ms)} ({Verdict(a.P999CiMs, b.P999CiMs)}).");

        static string Verdict(double[] a, double[] b) =>
            a[1] < b[0] ? "lower: the intervals do not overlap" : a[0] > b[1] ? "higher: the intervals do not overlap" : "the intervals overlap: not told apart";
    }

    /// <summary>mode ÷ none, two decimals; "—" without a usable baseline.</summary>
    public static string Ratio(double value, double? none) =>
        none is > 0 ? (value / none.Value).ToString("0.00", CultureInfo.InvariantCulture) : "—";

    private static string DeadlineText(this BenchConfig c) => c.Deadline switch
    {
        "median" => string.Create(CultureInfo.InvariantCulture, $"median (max of {c.StragglerDeadlineMs:0.#} ms and {c.DeadlineMedianFactor:0.#}× the recent median)"),
        "adaptive" => string.Create(CultureInfo.InvariantCulture, $"adaptive (p95 of each silo's recent worker service times, at least {c.StragglerDeadlineMs:0.#} ms)"),
        "quantile" => string.Create(CultureInfo.InvariantCulture, $"quantile (live p90 of each group's own-answer times; {c.StragglerDeadlineMs:0.#} ms before any)"),
        _ => string.Create(CultureInfo.InvariantCulture, $"fixed {c.StragglerDeadlineMs:0.#} ms"),
    };
}
