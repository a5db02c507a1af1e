using AsymCdc.Simulation;
using System.ComponentModel;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Bench;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc bench</c>: latency under stragglers, every mode on the same in-process cluster and the same
/// Poisson arrival trace, per straggler scenario; writes results.json, results.md and latency.png.</summary>
public sealed class BenchCommand : AsyncCommand<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--preset <PRESET>"), Description("quick (under 6 minutes on 2 cores) or full."), DefaultValue("quick")]
        public string Preset { get; init; } = "quick";

        [CommandOption("-m|--modes <MODES>"), Description("Modes, comma-separated (default all): none, hedged, replication, parm, approxifer, asymcdc-exact, asymcdc-compact, auto.")]
        public string? Modes { get; init; }

        [CommandOption("-k <K>"), Description("Data queries per parity group, 2..4."), DefaultValue(2)]
        public int K { get; init; } = 2;

        [CommandOption("-r|--rate <QPS>"), Description("Mean Poisson arrival rate, queries per second (default: --load of the measured capacity).")]
        public double? Rate { get; init; }

        [CommandOption("--load <FRACTION>"), Description("Run every mode at this fraction of the capacity of the most expensive one, measured first (default 0.7; ignored with --rate).")]
        public double? Load { get; init; }

        [CommandOption("--no-slow-silo"), Description("Skip the slow-silo and periodic slow-node scenarios.")]
        public bool NoSlowSilo { get; init; }

        [CommandOption("-n|--queries <N>"), Description("Measured queries per mode and scenario (default: the preset's).")]
        public int? Queries { get; init; }

        [CommandOption("-w|--workers <N>"), Description("Worker silos, the same for every mode, at least k+1 (default: the larger of 4 and k+1).")]
        public int? Workers { get; init; }

        [CommandOption("--straggler-rates <RATES>"), Description("Fractions of worker calls delayed, one scenario each."), DefaultValue("0,0.01,0.05")]
        public string StragglerRates { get; init; } = "0,0.01,0.05";

        [CommandOption("--straggler-delay <MS>"), Description("Delay of a straggling worker call in ms (default: 20x the median service time of the warm-up).")]
        public double? StragglerDelayMs { get; init; }

        [CommandOption("--straggler-deadline <MS>"), Description("Straggler deadline in ms, the floor of an adaptive one (default: 3x the median service time).")]
        public double? StragglerDeadlineMs { get; init; }

        [CommandOption("--deadline <KIND>"), Description("quantile (the live p90 of each group's own-answer times); fixed; median (at least 3x the recent median answer time); or adaptive (p95 of each silo's recent worker service times, floored at the straggler deadline)."), DefaultValue("quantile")]
        public string Deadline { get; init; } = "quantile";

        [CommandOption("--group-window <MS>"), Description("A group not full this long after its first member is sealed with its parity, in ms (AsymCdc:Serving:GroupWindow); longer windows fill more groups (extra work nearer 1/k). Default: the silo's, 5 ms, as shipped.")]
        public double? GroupWindowMs { get; init; }

        [CommandOption("--group-shards <N>"), Description("Parity-group grains per mode the frontend spreads queries over (AsymCdc:Serving:GroupShards). Default: the silo's, 2, as shipped.")]
        public int? GroupShards { get; init; }

        [CommandOption("--seed <SEED>"), Description("Seed of the arrival trace and of the straggler draws."), DefaultValue(1)]
        public int Seed { get; init; } = 1;

        [CommandOption("-o|--out <DIR>"), Description("Folder for results.json, results.md and latency.png."), DefaultValue("bench-results")]
        public string Out { get; init; } = "bench-results";

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--model <NAME>"), Description("The served model to load, with items of its test data (its config.json's dataset)."), DefaultValue("fmnist")]
        public string Model { get; init; } = "fmnist";

        [CommandOption("--rounds <N>"), Description("Slices of the trace the modes run in turn, so that the machine's slow spells fall on every mode alike (default: the preset's, 5; 1 runs each mode's whole trace at once).")]
        public int? Rounds { get; init; }

        [CommandOption("-s|--set <KEY=VALUE>"), Description("Configuration for every silo, after the bench's own, e.g. --set AsymCdc:Inference:ParityInstances=0 (repeatable); the report records it.")]
        public string[]? Set { get; init; }

        public BenchOptions ToOptions()
        {
            var options = Preset switch
            {
                "quick" => BenchOptions.Quick(),
                "full" => BenchOptions.Full(),
                _ => throw new ArgumentException($"--preset '{Preset}' is unknown; use quick or full."),
            };
            options.K = K;
            options.Workers = Workers ?? Math.Max(4, K + 1);
            options.Rate = Rate ?? options.Rate;
            options.Queries = Queries ?? options.Queries;
            options.Rounds = Rounds ?? options.Rounds;
            options.Seed = Seed;
            options.GroupWindow = GroupWindowMs is { } window ? TimeSpan.FromMilliseconds(window) : options.GroupWindow;
            options.GroupShards = GroupShards ?? options.GroupShards;
            options.ModelRepository = Models;
            options.Model = Model;
            options.StragglerRates = [.. StragglerRates.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(ParseRate)];
            options.StragglerDelay = StragglerDelayMs is { } delay ? TimeSpan.FromMilliseconds(delay) : null;
            options.StragglerDeadline = StragglerDeadlineMs is { } deadline ? TimeSpan.FromMilliseconds(deadline) : null;
            (options.DeadlineMedianFactor, options.QuantileDeadline, options.OwnQuantileDeadline) = Deadline switch
            {
                "adaptive" => (0.0, true, false),
                "quantile" => (0.0, false, true),
                "median" => (3.0, false, false),
                "fixed" => (0.0, false, false),
                _ => throw new ArgumentException($"--deadline '{Deadline}' is unknown; use quantile, fixed, median or adaptive."),
            };
            options.Load = Rate is null ? Load ?? options.Load : null;
            options.SlowSiloScenarios = options.SlowSiloScenarios && !NoSlowSilo;
            if (Modes is not null)
            {
                options.Modes = [.. Modes.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(ServingModes.Parse)];
            }

            foreach (var (key, value) in SetOption.Parse(Set))
            {
                options.Settings[key] = value;
            }

            return options;
        }

        public override ValidationResult Validate()
        {
            if (SetOption.Validate(Set) is { } invalidSet)
            {
                return invalidSet;
            }

            try
            {
                ToOptions().Validate();
                return ValidationResult.Success();
            }
            catch (Exception e) when (e is ArgumentException or PredictionException)
            {
                return ValidationResult.Error(e.Message);
            }
        }

        private static double ParseRate(string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate)
            ? rate
            : throw new ArgumentException($"--straggler-rates: '{text}' is not a number; write fractions such as 0,0.01,0.05.");
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 140);
        LabeledSet data;
        try
        {
            (_, data) = ServedData.Resolve(options.ModelRepository, options.Model);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or ModelRepositoryException)
        {
            AnsiConsole.MarkupLine($"[red]bench:[/] {Markup.Escape(e.Message)}");
            return 1;
        }

        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]asymcdc bench[/] ({options.Preset}): model {options.Model}, k = {options.K}, 1 frontend + {options.Workers} worker silos, {options.Queries} Poisson queries per mode and scenario at {(options.Load is { } load ? $"{load:0.##} of the measured capacity of the most expensive mode" : $"{options.Rate:0.#}/s")}, straggler rates {string.Join(", ", options.StragglerRates)}"));
        BenchReport? report = null;
        await AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var runner = new BenchRunner(options, data)
                {
                    OnCell = (label, queries) =>
                    {
                        var task = progress.AddTask(Markup.Escape(label), maxValue: queries);
                        return () => task.Increment(1);
                    },
                    OnNote = note => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}[/]"),
                };
                report = await runner.RunAsync(cancellationToken);
            });

        var (json, markdown, png) = await BenchReportWriter.WriteAsync(report!, settings.Out, cancellationToken);
        AnsiConsole.Write(ResultTable(report!));
        AnsiConsole.MarkupLine($"Wrote [grey]{Markup.Escape(json)}[/], [grey]{Markup.Escape(markdown)}[/] and [grey]{Markup.Escape(png)}[/].");
        return report!.Results.All(r => r.Lost == 0) ? 0 : 1;
    }

    private static Table ResultTable(BenchReport report)
    {
        var table = new Table().Title("Latency under stragglers (client-side from the scheduled send, ms; ÷ none in the same scenario)");
        foreach (var column in new[] { "scenario", "mode", "p50", "p99", "p99.9", "p99 ÷ none", "p99.9 ÷ none", "lost", "errors", "reconstructed", "accuracy", "extra work", "qps" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var r in report.Results)
        {
            var none = report.Results.FirstOrDefault(n => n.Scenario == r.Scenario && n.Mode == BenchReportWriter.NoneMode);
            table.AddRow(r.Scenario, r.Mode, F(r.P50Ms), F(r.P99Ms), F(r.P999Ms), BenchReportWriter.Ratio(r.P99Ms, none?.P99Ms),
                BenchReportWriter.Ratio(r.P999Ms, none?.P999Ms), $"{r.Lost}", $"{r.Errors}", $"{r.Reconstructed}",
                r.Accuracy?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "—", r.ExtraWorkRatio.ToString("0.000", CultureInfo.InvariantCulture),
                r.ThroughputQps.ToString("0", CultureInfo.InvariantCulture));
        }

        return table;
    }

    private static string F(double ms) => ms.ToString("0.0", CultureInfo.InvariantCulture);
}
