using System.Globalization;
using System.Runtime.InteropServices;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using HdrHistogram;

namespace AsymCdc.Cli.Bench;

/// <summary>
/// Latency under stragglers: for each straggler scenario, one in-process cluster (1 frontend + the same worker silos for
/// every mode, straggler draws seeded alike), and every mode in turn replays the same Poisson arrival trace against it.
/// </summary>
/// <remarks>
/// The straggler delay and deadline default to multiples of the median service time, measured as the client-side
/// median of mode <c>none</c> in a warm-up on a cluster without stragglers, so the scenario means the same on a fast
/// and a slow machine.
/// </remarks>
public sealed class BenchRunner(BenchOptions options, FashionMnistSet data)
{
    // 60 s in microseconds: far beyond any query's timeout, so no answered latency is out of range.
    private const long HighestLatencyMicroseconds = 60_000_000;

    /// <summary>Called when a mode starts in a scenario with its label and query count; returns the per-query callback.</summary>
    public Func<string, int, Action>? OnCell { get; init; }

    /// <summary>The client-side latencies of mode <c>none</c> without stragglers that calibrated the run, sorted (empty before a run).</summary>
    public IReadOnlyList<double> CalibrationLatenciesMs { get; private set; } = [];

    /// <summary>Called with a one-line note (calibration, a skipped mode).</summary>
    public Action<string>? OnNote { get; init; }

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken = default)
    {
        options.Validate();
        var schedule = PoissonSchedule.Create(options.Queries, options.Rate, options.Seed);
        var results = new List<ScenarioResult>();
        using var counter = new WorkerCallCounter();
        var scenarios = options.StragglerRates.Order().ToList();
        // The service time is measured on a cluster of its own: every scenario's cluster is configured with the
        // straggler delay and deadline derived from it.
        TimeSpan serviceTime;
        await using (var calibration = await StartAsync(0, TimeSpan.Zero, TimeSpan.FromMilliseconds(50), cancellationToken))
        {
            serviceTime = await MeasureServiceTimeAsync(calibration, cancellationToken);
        }

        var delay = options.StragglerDelay ?? serviceTime * options.DelayServiceTimes;
        var deadline = options.StragglerDeadline ?? serviceTime * options.DeadlineServiceTimes;
        var kind = options.DeadlineKind switch
        {
            "median" => string.Create(CultureInfo.InvariantCulture, $"median: at least {options.DeadlineMedianFactor:0.#}x the recent median"),
            "adaptive" => "adaptive: p95 of each silo's recent worker service times, this as its floor",
            _ => "fixed",
        };
        OnNote?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"Median service time {serviceTime.TotalMilliseconds:0.###} ms: stragglers delayed {delay.TotalMilliseconds:0.#} ms, straggler deadline {deadline.TotalMilliseconds:0.#} ms ({kind})."));
        string? models = null;
        IReadOnlyList<ServingMode>? modes = null;
        foreach (var rate in scenarios)
        {
            await using var cluster = await StartAsync(rate, delay, deadline, cancellationToken);
            counter.Track(cluster);
            models ??= cluster.Models.Directory;
            modes ??= RunnableModes(cluster.Models);
            var runner = new OpenLoopRunner(new AsymCdcClient(cluster.Client), data);
            var scenario = string.Create(CultureInfo.InvariantCulture, $"stragglers-{rate * 100:0.##}%");
            foreach (var mode in modes)
            {
                var name = mode.ToName();
                if (options.WarmupQueries > 0)
                {
                    // Unmeasured: activates this mode's grains on every silo and fills its latency windows.
                    await runner.RunAsync(mode, options.WarmupQueries, options.Rate, options.Timeout, data.Count / 2, null, cancellationToken);
                }

                var onQuery = OnCell?.Invoke($"{scenario} {name}", options.Queries);
                var before = counter.Calls(name);
                var (records, elapsed) = await runner.RunAsync(mode, schedule, options.Timeout, 0, onQuery, cancellationToken);
                results.Add(Summarise(scenario, rate, name, records, elapsed, counter.Calls(name) - before));
            }
        }

        var config = new BenchConfig(options.Preset, options.K, options.Workers, options.Queries, options.WarmupQueries, options.Rate,
            "poisson", options.Seed, [.. scenarios], Round(serviceTime), Round(delay), Round(deadline),
            options.DeadlineKind, options.DeadlineMedianFactor, Round(options.GroupWindow),
            Round(options.Timeout), [.. (modes ?? []).Select(m => m.ToName())], models ?? "", Environment.ProcessorCount,
            RuntimeInformation.OSDescription);
        return new BenchReport(config, results);
    }

    /// <summary>
    /// The demo's row, with the latency percentiles read from an HdrHistogram of the answered queries (microsecond
    /// resolution, 3 significant digits) rather than a sorted list, so a full run's millions of samples stay cheap.
    /// </summary>
    public ScenarioResult Summarise(string scenario, double stragglerRate, string mode, IReadOnlyList<QueryRecord> records,
        TimeSpan elapsed, long workerCalls)
    {
        var row = ScenarioResults.Summarise(scenario, stragglerRate, mode, options.K, options.Workers, records, elapsed, workerCalls);
        var histogram = new LongHistogram(HighestLatencyMicroseconds, 3);
        foreach (var record in records)
        {
            if (record.Outcome == QueryOutcome.Answered)
            {
                histogram.RecordValue(Math.Clamp((long)Math.Round(record.LatencyMs * 1000), 0, HighestLatencyMicroseconds));
            }
        }

        return histogram.TotalCount == 0 ? row : row with
        {
            P50Ms = Milliseconds(histogram.GetValueAtPercentile(50)),
            P99Ms = Milliseconds(histogram.GetValueAtPercentile(99)),
            P999Ms = Milliseconds(histogram.GetValueAtPercentile(99.9)),
        };
    }

    private IReadOnlyList<ServingMode> RunnableModes(ModelRepository models)
    {
        var runnable = new List<ServingMode>();
        foreach (var mode in options.Modes)
        {
            var needed = mode switch
            {
                ServingMode.Parm => ModelNames.Parm(options.K),
                ServingMode.AsymCdcCompact => ModelNames.Compact(options.K),
                _ => null,
            };
            if (needed is not null && !models.Contains(needed))
            {
                OnNote?.Invoke($"Skipping mode {mode.ToName()}: its model '{needed}' is not in {models.Directory} (train it with models/train.sh).");
                continue;
            }

            runnable.Add(mode);
        }

        return runnable;
    }

    private async Task<LocalCluster> StartAsync(double stragglerRate, TimeSpan delay, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var cluster = new LocalClusterOptions { Workers = options.Workers, ModelRepository = options.ModelRepository };
        var settings = cluster.Settings;
        settings["AsymCdc:Serving:K"] = options.K.ToString(CultureInfo.InvariantCulture);
        settings["AsymCdc:Serving:GroupWindow"] = options.GroupWindow.ToString();
        settings["AsymCdc:Serving:GroupShards"] = "1";
        settings["AsymCdc:Serving:StragglerDeadline"] = deadline.ToString();
        settings["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = options.DeadlineMedianFactor.ToString(CultureInfo.InvariantCulture);
        if (options.QuantileDeadline)
        {
            settings["AsymCdc:Serving:Deadline"] = "adaptive";
            settings["AsymCdc:Serving:AdaptiveDeadlineFloor"] = deadline.ToString();
        }
        settings["AsymCdc:Serving:RequestTimeout"] = options.Timeout.ToString();
        settings["AsymCdc:Stragglers:Rate"] = stragglerRate.ToString(CultureInfo.InvariantCulture);
        settings["AsymCdc:Stragglers:Delay"] = delay.ToString();
        settings["AsymCdc:Stragglers:Seed"] = options.Seed.ToString(CultureInfo.InvariantCulture);
        return await LocalCluster.StartAsync(cluster, cancellationToken);
    }

    // The client-side median of mode none without stragglers: what one query costs this cluster on this machine.
    private async Task<TimeSpan> MeasureServiceTimeAsync(LocalCluster cluster, CancellationToken cancellationToken)
    {
        var runner = new OpenLoopRunner(new AsymCdcClient(cluster.Client), data);
        var queries = Math.Max(options.WarmupQueries, 50);
        await runner.RunAsync(ServingMode.None, queries, options.Rate, options.Timeout, data.Count / 2, null, cancellationToken);
        var (records, _) = await runner.RunAsync(ServingMode.None, queries, options.Rate, options.Timeout, data.Count / 3, null, cancellationToken);
        var answered = records.Where(r => r.Outcome == QueryOutcome.Answered).Select(r => r.LatencyMs).Order().ToList();
        if (answered.Count == 0)
        {
            throw new InvalidOperationException("The warm-up answered no query in mode none; the cluster cannot serve, so there is nothing to benchmark (run with 'asymcdc demo -v' to see the silos' errors).");
        }

        CalibrationLatenciesMs = answered;
        return TimeSpan.FromMilliseconds(LatencySummary.Percentile(answered, 0.5));
    }

    private static double Milliseconds(long microseconds) => Math.Round(microseconds / 1000.0, 2);

    private static double Round(TimeSpan t) => Math.Round(t.TotalMilliseconds, 3);
}
