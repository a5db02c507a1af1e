using AsymCdc.Simulation;
using System.ComponentModel;
using System.Globalization;
using AsymCdc.Abstractions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc demo</c>: runs a <see cref="DemoRun"/> (an in-process cluster, open-loop Fashion-MNIST load with
/// injected stragglers) and prints a table comparing the modes on the same cluster and the same load.</summary>
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

        [CommandOption("--model <NAME>"), Description("The served model to load, with items of its test data (its config.json's dataset); modes it lacks a decoder for are skipped."), DefaultValue("fmnist")]
        public string Model { get; init; } = "fmnist";

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

        [CommandOption("--redis <HOST:PORT>"), Description("With --connect: find the cluster's frontends through its Redis membership table instead of a run folder (a containerised or deployed cluster, deploy/containers.sh); its own settings apply.")]
        public string? Redis { get; init; }

        [CommandOption("--service-id <ID>"), Description("With --redis: the cluster's Orleans ServiceId."), DefaultValue("asymcdc")]
        public string ServiceId { get; init; } = "asymcdc";

        [CommandOption("--cluster-id <ID>"), Description("With --redis: the cluster's Orleans ClusterId."), DefaultValue("prod")]
        public string ClusterId { get; init; } = "prod";

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

            if (Redis is not null && !Connect)
            {
                return ValidationResult.Error("--redis goes with --connect: demo --connect --redis HOST:PORT");
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

    /// <summary>The library's options from the command line's.</summary>
    public static DemoOptions ToOptions(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new DemoOptions
        {
            Queries = settings.Queries,
            K = settings.K,
            StragglerRate = settings.StragglerRate,
            StragglerDelayMs = settings.StragglerDelayMs,
            StragglerDeadlineMs = settings.StragglerDeadlineMs,
            DeadlineMedianFactor = settings.DeadlineMedianFactor,
            Deadline = settings.Deadline,
            ShadowRate = settings.ShadowRate,
            Workers = settings.Workers,
            Rate = settings.Rate,
            TimeoutMs = settings.TimeoutMs,
            Models = settings.Models,
            Model = settings.Model,
            GroupWindowMs = settings.GroupWindowMs,
            SlowSiloMs = settings.SlowSiloMs,
            Verbose = settings.Verbose,
            ConnectTo = settings.Connect ? settings.RunDirectory : null,
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var modes = settings.ParsedModes();
        // Redirected output has no width; the table needs about 110 columns.
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
        if (settings.Redis is { } redis)
        {
            return await ExecuteThroughRedisAsync(settings, redis, modes, cancellationToken);
        }

        AnsiConsole.MarkupLine($"[bold]AsymCDC demo[/]: 1 frontend + {settings.Workers} worker silos, k = {settings.K}, "
            + $"{settings.StragglerRate:P0} of worker calls delayed by {settings.StragglerDelayMs} ms, {settings.Rate:0} queries/s open loop");
        DemoRun started;
        try
        {
            started = await AnsiConsole.Status().StartAsync(settings.Connect ? $"Connecting to the cluster in {settings.RunDirectory}..." : "Starting the in-process cluster...",
                _ => DemoRun.StartAsync(ToOptions(settings), cancellationToken));
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLine($"[red]demo:[/] {Markup.Escape(e.Message)}");
            return 1;
        }

        await using var demo = started;
        modes = [.. modes.Where(mode =>
        {
            if (demo.Missing(mode) is not { } missing)
            {
                return true;
            }

            AnsiConsole.MarkupLine($"[yellow]Skipping mode {mode.ToName()}:[/] model '{Markup.Escape(demo.Model.Name)}' lacks {Markup.Escape(missing)}.");
            return false;
        })];
        AnsiConsole.MarkupLine($"Cluster up: models from [grey]{Markup.Escape(demo.ModelDirectory)}[/], model {Markup.Escape(demo.Model.PublicName)}, test set {Markup.Escape(demo.Data.Name)} of {demo.Data.Count} items"
            + (demo.ConnectedRunDirectory is not { } runDirectory ? "." : $"; connected to the cluster in {Markup.Escape(runDirectory)} (its own straggler settings apply)."));

        var results = new List<ScenarioResult>();
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                foreach (var mode in modes)
                {
                    var task = progress.AddTask(mode.ToName(), maxValue: settings.Queries);
                    results.Add(await demo.RunModeAsync(mode, () => task.Increment(1), cancellationToken));
                    if (demo.AdaptiveDeadline() is { } deadline)
                    {
                        AnsiConsole.WriteLine($"{mode.ToName()}: adaptive straggler deadline at the end: {deadline.Current.TotalMilliseconds:0.0} ms over {deadline.Count} recent worker calls");
                    }
                }
            });

        AnsiConsole.Write(ResultTable(results));
        foreach (var line in demo.ShadowLines(modes))
        {
            AnsiConsole.WriteLine(line);
        }

        if (settings.Json is { } path)
        {
            await File.WriteAllTextAsync(path, demo.ToJson(results), cancellationToken);
            AnsiConsole.MarkupLine($"Results written to [grey]{Markup.Escape(path)}[/].");
        }

        return results.All(r => r.Lost == 0) ? 0 : 1;
    }

    /// <summary><c>demo --connect --redis</c>: the same load and table against a cluster found through Redis.</summary>
    private static async Task<int> ExecuteThroughRedisAsync(Settings settings, string redis, IReadOnlyList<ServingMode> modes, CancellationToken cancellationToken)
    {
        AnsiConsole.MarkupLine($"[bold]AsymCDC demo[/]: the cluster in Redis {Markup.Escape(redis)} ({Markup.Escape(settings.ServiceId)}/{Markup.Escape(settings.ClusterId)}), "
            + $"{settings.Rate:0} queries/s open loop; its own settings (k, stragglers) apply; extra work is not measured here");
        var timeout = TimeSpan.FromMilliseconds(settings.TimeoutMs);
        await using var demo = await RedisClusterDemo.ConnectAsync(redis, settings.ServiceId, settings.ClusterId, timeout, cancellationToken);
        var results = new List<ScenarioResult>();
        foreach (var mode in modes)
        {
            AnsiConsole.WriteLine($"{mode.ToName()}: warming up, then {settings.Queries} queries");
            results.Add(await demo.RunModeAsync(mode, settings.Queries, settings.Rate, timeout, settings.K, settings.Workers, null, cancellationToken));
        }

        AnsiConsole.Write(ResultTable(results));
        if (settings.Json is { } path)
        {
            await File.WriteAllTextAsync(path, RedisClusterDemo.ToJson(redis, settings.ServiceId, settings.ClusterId, settings.Queries, settings.Rate, results), cancellationToken);
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
