using AsymCdc.Simulation;
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
/// every mode, straggler draws seeded alike), and every mode in turn replays the same Poisson arrival trace against it,
/// in rounds (<see cref="BenchOptions.Rounds"/>): slice r of the trace in every mode, then slice r + 1, so that a slow
/// spell of the machine falls on every mode alike rather than on whichever ran then.
/// </summary>
/// <remarks>
/// The straggler delay and deadline default to multiples of the median service time, measured as the client-side
/// median of mode <c>none</c> in a warm-up on a cluster without stragglers, so the scenario means the same on a fast
/// and a slow machine.
/// </remarks>
public sealed class BenchRunner(BenchOptions options, LabeledSet data)
{
    /// <summary>Fashion-MNIST test images to the product's model.</summary>
    public BenchRunner(BenchOptions options, FashionMnistSet data)
        : this(options, LabeledSet.From(data, "fmnist/test"))
    {
    }

    // 60 s in microseconds: far beyond any query's timeout, so no answered latency is out of range.
    private const long HighestLatencyMicroseconds = 60_000_000;

    /// <summary>Called when a mode starts in a scenario with its label and query count; returns the per-query callback.</summary>
    public Func<string, int, Action>? OnCell { get; init; }

    /// <summary>The client-side latencies of mode <c>none</c> without stragglers that calibrated the run, sorted (empty before a run).</summary>
    public IReadOnlyList<double> CalibrationLatenciesMs { get; private set; } = [];

    /// <summary>The records of the run's first cell (its first scenario's first mode), as measured.</summary>
    public IReadOnlyList<QueryRecord> LastRecords { get; private set; } = [];

    /// <summary>Called with a one-line note (calibration, a skipped mode).</summary>
    public Action<string>? OnNote { get; init; }

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken = default)
    {
        options.Validate();
        var results = new List<ScenarioResult>();
        using var counter = new WorkerCallCounter();
        var scenarios = options.StragglerRates.Order().ToList();
        // The service time is measured on a cluster of its own: every scenario's cluster is configured with the
        // straggler delay and deadline derived from it.
        TimeSpan serviceTime;
        var rate = options.Rate;
        await using (var calibration = await StartAsync(0, TimeSpan.Zero, TimeSpan.FromMilliseconds(50), null, cancellationToken))
        {
            serviceTime = await MeasureServiceTimeAsync(calibration, cancellationToken);
            if (options.Load is { } load)
            {
                foreach (var mode in RunnableModes(calibration.Models))
                {
                    Capacities[mode.ToName()] = Math.Round(await MeasureCapacityAsync(calibration, mode, cancellationToken), 1);
                }

                rate = Math.Round(load * Capacities.Values.Min(), 1);
                OnNote?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"Capacity (queries/s, open loop far above it): {string.Join(", ", Capacities.Select(c => $"{c.Key} {c.Value:0}"))}; every mode runs at {load:0.##} x {Capacities.Values.Min():0} = {rate:0.#} queries/s."));
            }
        }

        var schedule = PoissonSchedule.Create(options.Queries, rate, options.Seed);

        var delay = options.StragglerDelay ?? serviceTime * options.DelayServiceTimes;
        var deadline = options.StragglerDeadline ?? serviceTime * options.DeadlineServiceTimes;
        var kind = options.DeadlineKind switch
        {
            "median" => string.Create(CultureInfo.InvariantCulture, $"median: at least {options.DeadlineMedianFactor:0.#}x the recent median"),
            "adaptive" => "adaptive: p95 of each silo's recent worker service times, this as its floor",
            "quantile" => "quantile: the live p90 of each group's own-answer times, this before any answer",
            _ => "fixed",
        };
        OnNote?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"Median service time {serviceTime.TotalMilliseconds:0.###} ms: stragglers delayed {delay.TotalMilliseconds:0.#} ms, straggler deadline {deadline.TotalMilliseconds:0.#} ms ({kind})."));
        string? models = null;
        IReadOnlyList<ServingMode>? modes = null;
        List<(string Name, double StragglerRate, (TimeSpan For, TimeSpan Period)? Slow)> cells =
            [.. scenarios.Select(r => (string.Create(CultureInfo.InvariantCulture, $"stragglers-{r * 100:0.##}%"), r, ((TimeSpan, TimeSpan)?)null))];
        if (options.SlowSiloScenarios)
        {
            cells.Add(("slow-silo", 0, (TimeSpan.MaxValue, TimeSpan.Zero)));
            cells.Add(("slow-node-periodic", 0, (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6))));
        }

        var slowdown = serviceTime * options.SlowSiloServiceTimes;
        foreach (var (scenario, stragglerRate, slow) in cells)
        {
            await using var cluster = await StartAsync(stragglerRate, delay, deadline, slow is null ? null : (slowdown, slow.Value.For, slow.Value.Period), cancellationToken);
            counter.Track(cluster);
            models ??= cluster.Models.Directory;
            modes ??= RunnableModes(cluster.Models);
            var runner = new OpenLoopRunner(new AsymCdcClient(cluster.Client), data, options.Model);
            // Unmeasured, every mode before any is measured: activates each mode's grains on every silo and fills its
            // latency windows, and takes the fresh cluster's first seconds, which inflated whichever mode came first.
            foreach (var mode in options.WarmupQueries > 0 ? modes : [])
            {
                await runner.RunAsync(mode, options.WarmupQueries, rate, options.Timeout, data.Count / 2, null, cancellationToken);
            }

            var period = slow is { Period: var p } && p > TimeSpan.Zero ? p : TimeSpan.Zero;
            var rounds = Rounds(schedule, options.Rounds, period);
            var cellsOf = modes.ToDictionary(m => m, _ => new Cell());
            var onQuery = modes.ToDictionary(m => m, m => OnCell?.Invoke($"{scenario} {m.ToName()}", options.Queries));
            for (var round = 0; round < rounds.Count; round++)
            {
                var (first, slice) = rounds[round];
                // Each round rotates the order, so that every mode runs first, last and in between as often as the others.
                for (var turn = 0; turn < modes.Count; turn++)
                {
                    var mode = modes[(round + turn) % modes.Count];
                    var name = mode.ToName();
                    if (period > TimeSpan.Zero)
                    {
                        // Modes run one after another while the slow node keeps its own clock: each mode's run starts where a
                        // slow stretch does, so that every mode meets the same slow stretches at the same points of the trace.
                        await Task.Delay(AsymCdc.Grains.StragglerInjector.UntilNextPeriod(period), cancellationToken);
                    }

                    var cell = cellsOf[mode];
                    var before = counter.Calls(name);
                    var decodesBefore = counter.DecodeTimes(name).Count;
                    var (records, elapsed) = await runner.RunAsync(mode, slice, options.Timeout, first, onQuery[mode], cancellationToken);
                    cell.Records.AddRange(records);
                    cell.Elapsed += elapsed;
                    cell.WorkerCalls += counter.Calls(name) - before;
                    cell.Decodes.AddRange(counter.DecodeTimes(name).Skip(decodesBefore));
                }
            }

            foreach (var mode in modes)
            {
                var cell = cellsOf[mode];
                if (LastRecords.Count == 0)
                {
                    LastRecords = cell.Records; // the first cell: the first scenario's first mode
                }

                cell.Decodes.Sort();
                var decodes = cell.Decodes;
                results.Add(Summarise(scenario, stragglerRate, mode.ToName(), cell.Records, cell.Elapsed, cell.WorkerCalls) with
                {
                    DecodeP50Ms = decodes.Count == 0 ? null : Math.Round(LatencySummary.Percentile(decodes, 0.5), 3),
                    DecodeP99Ms = decodes.Count == 0 ? null : Math.Round(LatencySummary.Percentile(decodes, 0.99), 3),
                });
            }
        }

        var config = new BenchConfig(options.Preset, options.K, options.Workers, options.Queries, options.WarmupQueries, rate,
            "poisson", options.Seed, [.. scenarios], Round(serviceTime), Round(delay), Round(deadline),
            options.DeadlineKind, options.DeadlineMedianFactor, Round(options.GroupWindow),
            Round(options.Timeout), [.. (modes ?? []).Select(m => m.ToName())], models ?? "", Environment.ProcessorCount,
            RuntimeInformation.OSDescription)
        {
            Load = options.Load,
            Model = options.Model,
            CapacitiesQps = Capacities.Count == 0 ? null : Capacities,
            SlowSiloMs = options.SlowSiloScenarios ? Round(slowdown) : null,
            Rounds = options.Rounds,
            GroupShards = options.GroupShards,
            AutoCoder = AutoCoder,
            Settings = options.Settings.Count == 0 ? null : new SortedDictionary<string, string?>(options.Settings, StringComparer.Ordinal),
        };
        return new BenchReport(config, results);
    }

    /// <summary>What one mode measured in one scenario, over its rounds.</summary>
    private sealed class Cell
    {
        public List<QueryRecord> Records { get; } = [];

        public List<double> Decodes { get; } = [];

        public TimeSpan Elapsed { get; set; }

        public long WorkerCalls { get; set; }
    }

    /// <summary>
    /// The trace cut into <paramref name="rounds"/> consecutive slices, each re-based to start at zero, with the index of
    /// its first query (which picks its images). With a periodic slowdown a slice spans at least one period, so that each
    /// mode's slice, started where a slow stretch starts, meets every part of the period: fewer rounds where the trace is
    /// shorter than that.
    /// </summary>
    public static List<(int First, TimeSpan[] Slice)> Rounds(IReadOnlyList<TimeSpan> schedule, int rounds, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        if (period > TimeSpan.Zero && schedule.Count > 0)
        {
            rounds = (int)Math.Clamp(schedule[^1].Ticks / period.Ticks, 1, rounds);
        }

        rounds = Math.Min(rounds, Math.Max(1, schedule.Count));
        var slices = new List<(int, TimeSpan[])>(rounds);
        for (var r = 0; r < rounds; r++)
        {
            var (from, to) = ((int)((long)schedule.Count * r / rounds), (int)((long)schedule.Count * (r + 1) / rounds));
            var slice = new TimeSpan[to - from];
            for (var i = from; i < to; i++)
            {
                slice[i - from] = schedule[i] - schedule[from];
            }

            slices.Add((from, slice));
        }

        return slices;
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

        if (histogram.TotalCount == 0)
        {
            return row;
        }

        var sorted = records.Where(static r => r.Outcome == QueryOutcome.Answered).Select(static r => r.LatencyMs).Order().ToList();
        return row with
        {
            P50Ms = Milliseconds(histogram.GetValueAtPercentile(50)),
            P99Ms = Milliseconds(histogram.GetValueAtPercentile(99)),
            P999Ms = Milliseconds(histogram.GetValueAtPercentile(99.9)),
            P99CiMs = Interval(sorted, 0.99),
            P999CiMs = Interval(sorted, 0.999),
        };

        static double[] Interval(List<double> sorted, double q) =>
            LatencySummary.PercentileInterval(sorted, q) is var (lo, hi) ? [Math.Round(lo, 2), Math.Round(hi, 2)] : [];
    }

    /// <summary>The decoder <c>auto</c> codes with in this run (<c>parm</c>, <c>asymcdc-compact</c>, or <c>hedged</c>
    /// where it may not code); null when auto is not run.</summary>
    public string? AutoCoder { get; private set; }

    private IReadOnlyList<ServingMode> RunnableModes(ModelRepository models)
    {
        var runnable = new List<ServingMode>();
        foreach (var mode in options.Modes)
        {
            var model = models.FindServed(options.Model)
                ?? throw new ArgumentException($"The repository {models.Directory} serves no model '{options.Model}'.");
            if (Grains.ServedModelModes.Missing(model, mode, options.K) is { } missing)
            {
                OnNote?.Invoke($"Skipping mode {mode.ToName()}: model '{model.Name}' lacks {missing}.");
                continue;
            }

            if (mode == ServingMode.Auto && AutoCoder is null)
            {
                // The cluster's own rule and default floor: say which decoder auto will code with, and record it.
                var defaults = new Grains.ServingOptions();
                var (_, coder, why) = Serving.AutoCoding.ChooseGroup(options.K, defaults.RedundancyBudget, Serving.AutoCoding.MaxGroup,
                    g => Serving.AutoCoding.Options(model, g), defaults.AutoMinAgreement);
                AutoCoder = coder ?? "hedged";
                OnNote?.Invoke($"auto at k = {options.K}: {why ?? "hedges only (coding is over its redundancy budget)"}.");
            }

            runnable.Add(mode);
        }

        return runnable;
    }

    /// <summary>The capacity of <paramref name="mode"/> in queries/s measured so far (with <see cref="BenchOptions.Load"/>).</summary>
    public Dictionary<string, double> Capacities { get; } = [];

    /// <summary>Open loop far above what the cluster serves in <paramref name="mode"/>: the answered rate is its capacity.</summary>
    private async Task<double> MeasureCapacityAsync(LocalCluster cluster, ServingMode mode, CancellationToken cancellationToken)
    {
        var runner = new OpenLoopRunner(new AsymCdcClient(cluster.Client), data, options.Model);
        await runner.RunAsync(mode, 300, 300, options.Timeout, 0, null, cancellationToken);
        var (records, elapsed) = await runner.RunAsync(mode, 4000, 8000, TimeSpan.FromSeconds(30), 300, null, cancellationToken);
        return records.Count(r => r.Outcome == QueryOutcome.Answered) / elapsed.TotalSeconds;
    }

    private async Task<LocalCluster> StartAsync(double stragglerRate, TimeSpan delay, TimeSpan deadline,
        (TimeSpan Slowdown, TimeSpan For, TimeSpan Period)? slowSilo, CancellationToken cancellationToken)
    {
        var cluster = new LocalClusterOptions { Workers = options.Workers, ModelRepository = options.ModelRepository };
        if (slowSilo is { } slow)
        {
            cluster.WorkerSettings[0] = new Dictionary<string, string?>
            {
                ["AsymCdc:Stragglers:SiloSlowdown"] = slow.Slowdown.ToString(),
                ["AsymCdc:Stragglers:SiloSlowdownFor"] = slow.For == TimeSpan.MaxValue ? null : slow.For.ToString(),
                ["AsymCdc:Stragglers:SiloSlowdownPeriod"] = slow.Period == TimeSpan.Zero ? null : slow.Period.ToString(),
            };
        }

        var settings = cluster.Settings;
        settings["AsymCdc:Serving:K"] = options.K.ToString(CultureInfo.InvariantCulture);
        settings["AsymCdc:Serving:GroupWindow"] = options.GroupWindow.ToString();
        settings["AsymCdc:Serving:GroupShards"] = options.GroupShards.ToString(CultureInfo.InvariantCulture);
        settings["AsymCdc:Serving:StragglerDeadline"] = deadline.ToString();
        settings["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = options.DeadlineMedianFactor.ToString(CultureInfo.InvariantCulture);
        if (options.OwnQuantileDeadline)
        {
            settings["AsymCdc:Serving:Deadline"] = "quantile";
        }
        else if (options.QuantileDeadline)
        {
            settings["AsymCdc:Serving:Deadline"] = "adaptive";
            settings["AsymCdc:Serving:AdaptiveDeadlineFloor"] = deadline.ToString();
        }
        settings["AsymCdc:Serving:RequestTimeout"] = options.Timeout.ToString();
        settings["AsymCdc:Stragglers:Rate"] = stragglerRate.ToString(CultureInfo.InvariantCulture);
        settings["AsymCdc:Stragglers:Delay"] = delay.ToString();
        settings["AsymCdc:Stragglers:Seed"] = options.Seed.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value; // --set: the user's configuration goes last, and the report records it
        }

        return await LocalCluster.StartAsync(cluster, cancellationToken);
    }

    /// <summary>The calibration's arrival rate: low enough that nothing queues, whatever rate the bench then runs at
    /// (at the bench's own rate a freshly started cluster measured medians of 25-32 ms here, not 1.6).</summary>
    public const double CalibrationRate = 150;

    // The client-side median of mode none without stragglers: what one query costs this cluster on this machine.
    private async Task<TimeSpan> MeasureServiceTimeAsync(LocalCluster cluster, CancellationToken cancellationToken)
    {
        var runner = new OpenLoopRunner(new AsymCdcClient(cluster.Client), data, options.Model);
        var queries = Math.Max(options.WarmupQueries, 50);
        await runner.RunAsync(ServingMode.None, queries, CalibrationRate, options.Timeout, data.Count / 2, null, cancellationToken);
        var (records, _) = await runner.RunAsync(ServingMode.None, queries, CalibrationRate, options.Timeout, data.Count / 3, null, cancellationToken);
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
