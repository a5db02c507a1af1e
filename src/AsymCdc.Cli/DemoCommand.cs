using AsymCdc.Simulation;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc demo</c>: an in-process cluster, open-loop Fashion-MNIST load with injected stragglers, and a
/// table comparing the modes on the same cluster and the same load.</summary>
public sealed class DemoCommand : AsyncCommand<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-n|--queries <N>"), Description("Queries per mode."), DefaultValue(1500)]
        public int Queries { get; init; } = 1500;

        [CommandOption("-m|--mode <MODES>"), Description("Modes to compare, comma-separated or repeated: none, hedged, replication, parm, approxifer, asymcdc-exact, asymcdc-compact.")]
        public string[]? Modes { get; init; }

        [CommandOption("-k <K>"), Description("Data queries per parity group, 2..4."), DefaultValue(2)]
        public int K { get; init; } = 2;

        [CommandOption("-s|--straggler-rate <RATE>"), Description("Fraction of worker calls delayed, 0..1."), DefaultValue(0.05)]
        public double StragglerRate { get; init; } = 0.05;

        [CommandOption("--straggler-delay <MS>"), Description("Delay of a straggling worker call, in ms."), DefaultValue(100)]
        public int StragglerDelayMs { get; init; } = 100;

        [CommandOption("--straggler-deadline <MS>"), Description("Each answer is raced against this before a decode (or hedge), in ms."), DefaultValue(15)]
        public int StragglerDeadlineMs { get; init; } = 15;

        [CommandOption("--deadline-median-factor <X>"), Description("The straggler deadline is at least X times the recent median answer time (0 = fixed deadline)."), DefaultValue(3.0)]
        public double DeadlineMedianFactor { get; init; } = 3;

        [CommandOption("--deadline <KIND>"), Description("quantile (the live p90 of each group's own-answer times; the product's default), fixed (--straggler-deadline, raised by --deadline-median-factor) or adaptive (p95 of recent worker service times, 10..200 ms)."), DefaultValue("quantile")]
        public string Deadline { get; init; } = "quantile";

        [CommandOption("--shadow-rate <RATE>"), Description("Fraction of reconstructions checked against the straggler's late answer (free: it arrives anyway)."), DefaultValue(1.0)]
        public double ShadowRate { get; init; } = 1;

        [CommandOption("-w|--workers <N>"), Description("Worker silos (a group needs k+1)."), DefaultValue(4)]
        public int Workers { get; init; } = 4;

        [CommandOption("-r|--rate <QPS>"), Description("Open-loop arrival rate, queries per second."), DefaultValue(150.0)]
        public double Rate { get; init; } = 150;

        [CommandOption("--timeout <MS>"), Description("Deadline of each query, in ms."), DefaultValue(5000)]
        public int TimeoutMs { get; init; } = 5000;

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--group-window <MS>"), Description("A partial group is encoded after this, in ms."), DefaultValue(10)]
        public int GroupWindowMs { get; init; } = 10;

        [CommandOption("--slow-silo <MS>"), Description("Whole-silo slowdown: every call on worker 0 takes this much longer, in ms."), DefaultValue(0)]
        public int SlowSiloMs { get; init; }

        [CommandOption("-v|--verbose"), Description("Print the silos' warnings and errors.")]
        public bool Verbose { get; init; }

        [CommandOption("--json <FILE>"), Description("Also write the results as JSON to FILE.")]
        public string? Json { get; init; }

        [CommandOption("--connect"), Description("Run against the multi-process cluster of 'asymcdc cluster up' instead of an in-process one; its own settings (k, stragglers) apply, so pass the same -k.")]
        public bool Connect { get; init; }

        [CommandOption("--run-dir <DIR>"), Description("With --connect: the run folder of that cluster."), DefaultValue(Cluster.ProcessClusterOptions.DefaultRunDirectory)]
        public string RunDirectory { get; init; } = Cluster.ProcessClusterOptions.DefaultRunDirectory;

        public IReadOnlyList<ServingMode> ParsedModes() => Modes is null or { Length: 0 }
            ? [ServingMode.None, ServingMode.AsymCdcCompact, ServingMode.AsymCdcExact]
            : [.. Modes.SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(ServingModes.Parse)];

        public override ValidationResult Validate()
        {
            if (Queries < 1)
            {
                return ValidationResult.Error("--queries must be at least 1");
            }

            if (K is < 2 or > 4)
            {
                return ValidationResult.Error($"--k {K} is outside 2..4");
            }

            if (StragglerRate is < 0 or > 1)
            {
                return ValidationResult.Error($"--straggler-rate {StragglerRate} must be a fraction in [0, 1]");
            }

            if (DeadlineMedianFactor < 0)
            {
                return ValidationResult.Error("--deadline-median-factor must be 0 (fixed deadline) or positive");
            }

            if (Deadline is not ("fixed" or "adaptive" or "quantile") || ShadowRate is < 0 or > 1)
            {
                return ValidationResult.Error("--deadline must be fixed or adaptive, and --shadow-rate a fraction in [0, 1]");
            }

            if (SlowSiloMs < 0)
            {
                return ValidationResult.Error("--slow-silo must be 0 or more milliseconds");
            }

            if (Workers < 1 || Rate <= 0 || TimeoutMs <= StragglerDeadlineMs || StragglerDeadlineMs <= 0 || StragglerDelayMs < 0)
            {
                return ValidationResult.Error("--workers and --rate must be positive, and --timeout longer than --straggler-deadline (> 0)");
            }

            try
            {
                _ = ParsedModes();
            }
            catch (PredictionException e)
            {
                return ValidationResult.Error(e.Message);
            }

            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var modes = settings.ParsedModes();
        // Redirected output has no width; the table needs about 110 columns.
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
        var data = FashionMnist.LoadTestSet();
        var options = new LocalClusterOptions { Workers = settings.Workers, ModelRepository = settings.Models };
        if (settings.Verbose)
        {
            options.ConfigureLogging = logging => logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        if (settings.SlowSiloMs > 0)
        {
            options.WorkerSettings[0] = new Dictionary<string, string?>
            {
                ["AsymCdc:Stragglers:SiloSlowdown"] = TimeSpan.FromMilliseconds(settings.SlowSiloMs).ToString(),
            };
        }

        options.Settings["AsymCdc:Serving:GroupWindow"] = TimeSpan.FromMilliseconds(settings.GroupWindowMs).ToString();
        options.Settings["AsymCdc:Serving:K"] = settings.K.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = TimeSpan.FromMilliseconds(settings.StragglerDeadlineMs).ToString();
        options.Settings["AsymCdc:Serving:GroupShards"] = "1";
        options.Settings["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = settings.DeadlineMedianFactor.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:Deadline"] = settings.Deadline;
        options.Settings["AsymCdc:Serving:ShadowSampleRate"] = settings.ShadowRate.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Stragglers:Rate"] = settings.StragglerRate.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Stragglers:Delay"] = TimeSpan.FromMilliseconds(settings.StragglerDelayMs).ToString();

        AnsiConsole.MarkupLine($"[bold]AsymCDC demo[/]: 1 frontend + {settings.Workers} worker silos, k = {settings.K}, "
            + $"{settings.StragglerRate:P0} of worker calls delayed by {settings.StragglerDelayMs} ms, {settings.Rate:0} queries/s open loop");
        // --connect: the multi-process cluster in --run-dir, whose worker calls are read from the silos' /metrics.
        await using var connected = settings.Connect
            ? await Cluster.ConnectedCluster.ConnectAsync(settings.RunDirectory, TimeSpan.FromMilliseconds(settings.TimeoutMs), cancellationToken)
            : null;
        await using var cluster = connected is not null ? null : await AnsiConsole.Status().StartAsync("Starting the in-process cluster...",
            _ => LocalCluster.StartAsync(options, cancellationToken));
        var modelDirectory = cluster?.Models.Directory ?? connected!.ModelRepository;
        AnsiConsole.MarkupLine($"Cluster up: models from [grey]{Markup.Escape(modelDirectory)}[/], test set of {data.Count} images"
            + (connected is null ? "." : $"; connected to the cluster in {Markup.Escape(connected.Cluster.RunDirectory)} (its own straggler settings apply)."));

        var client = new AsymCdcClient(cluster?.Client ?? connected!.Client);
        var runner = new OpenLoopRunner(client, data);
        using var counter = new WorkerCallCounter();
        if (cluster is not null)
        {
            counter.Track(cluster);
        }

        using var shadow = new ShadowCounter();
        Func<string, Task<long>> workerCalls = connected is null ? m => Task.FromResult(counter.Calls(m)) : connected.WorkerCallsAsync;
        var timeout = TimeSpan.FromMilliseconds(settings.TimeoutMs);
        var scenario = $"stragglers-{settings.StragglerRate * 100:0.#}%";
        var results = new List<ScenarioResult>();
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                foreach (var mode in modes)
                {
                    var task = progress.AddTask(mode.ToName(), maxValue: settings.Queries);
                    // Warm-up (not measured): activates this mode's grains on every silo.
                    await runner.RunAsync(mode, 4 * (settings.K + 1) * settings.Workers, settings.Rate, timeout, data.Count / 2, null, cancellationToken);
                    var before = await workerCalls(mode.ToName());
                    var (records, elapsed) = await runner.RunAsync(mode, settings.Queries, settings.Rate, timeout, 0, () => task.Increment(1), cancellationToken);
                    if (cluster is not null && settings.Deadline == "adaptive")
                    {
                        var deadline = cluster.Frontend.Services.GetRequiredService<AsymCdc.Serving.StragglerDeadline>();
                        AnsiConsole.WriteLine($"{mode.ToName()}: adaptive straggler deadline at the end: {deadline.Current.TotalMilliseconds:0.0} ms over {deadline.Count} recent worker calls");
                    }

                    results.Add(ScenarioResults.Summarise(scenario, settings.StragglerRate, mode.ToName(), settings.K, settings.Workers,
                        records, elapsed, await workerCalls(mode.ToName()) - before));
                }
            });

        AnsiConsole.Write(ResultTable(results));
        if (connected is null)
        {
            // Late answers of the last mode may still be arriving: the count is of those in by now.
            foreach (var mode in modes.Where(m => m.IsCoded()))
            {
                var (@checked, agreed) = shadow.Of(mode.ToName());
                AnsiConsole.WriteLine($"{mode.ToName()}: {ShadowCounter.Describe(@checked, agreed)}; "
                    + $"{shadow.Misses(mode.ToName())} straggler-deadline misses (warm-up included)");
            }
        }

        if (settings.Json is { } path)
        {
            var report = new
            {
                config = new
                {
                    k = settings.K,
                    workers = settings.Workers,
                    queries = settings.Queries,
                    rate_qps = settings.Rate,
                    straggler_rate = settings.StragglerRate,
                    straggler_delay_ms = settings.StragglerDelayMs,
                    straggler_deadline_ms = settings.StragglerDeadlineMs,
                    deadline_median_factor = settings.DeadlineMedianFactor,
                    deadline = settings.Deadline,
                    group_window_ms = settings.GroupWindowMs,
                    slow_silo_ms = settings.SlowSiloMs,
                    timeout_ms = settings.TimeoutMs,
                    models = modelDirectory,
                },
                results,
            };
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }), cancellationToken);
            AnsiConsole.MarkupLine($"Results written to [grey]{Markup.Escape(path)}[/].");
        }

        return results.All(r => r.Lost == 0) ? 0 : 1;
    }

    private static Table ResultTable(IReadOnlyList<ScenarioResult> results)
    {
        var table = new Table().Title("Latency under stragglers (client-side, ms)");
        foreach (var column in new[] { "mode", "p50", "p99", "p99.9", "answered", "errors", "lost", "reconstructed", "accuracy", "extra work", "qps" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var r in results)
        {
            table.AddRow(r.Mode, F(r.P50Ms), F(r.P99Ms), F(r.P999Ms), $"{r.Answered}", $"{r.Errors}", $"{r.Lost}", $"{r.Reconstructed}",
                r.Accuracy?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "—", r.ExtraWorkRatio.ToString("0.00", CultureInfo.InvariantCulture),
                r.ThroughputQps.ToString("0", CultureInfo.InvariantCulture));
        }

        return table;
    }

    private static string F(double ms) => ms.ToString("0.0", CultureInfo.InvariantCulture);
}
