using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Coding;
using AsymCdc.Coding.Evaluation;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc eval</c>: degraded-mode accuracy, offline on the real models (<see cref="DegradedModeRun"/>).</summary>
public sealed class EvalCommand : AsyncCommand<EvalCommand.Settings>
{
    public static readonly string[] AllDecoders = DegradedModeRun.AllDecoders;

    public sealed class Settings : CommandSettings
    {
        [CommandOption("-k <KS>"), Description("Group sizes, comma-separated, each 2..4."), DefaultValue("2,3,4")]
        public string K { get; init; } = "2,3,4";

        [CommandOption("-d|--decoders <DECODERS>"), Description("Decoders, comma-separated: exact, compact, parm, approxifer."), DefaultValue("exact,compact,parm,approxifer")]
        public string Decoders { get; init; } = "exact,compact,parm,approxifer";

        [CommandOption("-m|--model <NAMES>"), Description("Served models to evaluate, comma-separated (default: every classifier in the repository).")]
        public string? Model { get; init; }

        [CommandOption("-n|--limit <N>"), Description("Evaluate only the first N test items of each model (default: all).")]
        public int? Limit { get; init; }

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--data <DIR>"), Description("Folder with the Fashion-MNIST t10k files, for models whose dataset is fmnist (default: models/data, then /usr/share/datasets/fashion-mnist).")]
        public string? Data { get; init; }

        [CommandOption("--json <FILE>"), Description("Also write the reports as JSON to FILE (an array, one report per model).")]
        public string? Json { get; init; }

        public IReadOnlyList<int> ParsedK() => [.. K.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(k => int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v is >= ModelNames.MinK and <= ModelNames.MaxK
                ? v
                : throw new ArgumentException($"-k: '{k}' is not a group size in {ModelNames.MinK}..{ModelNames.MaxK}."))];

        public IReadOnlyList<string> ParsedDecoders() => [.. Decoders.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => AllDecoders.Contains(d) ? d : throw new ArgumentException($"--decoders: '{d}' is unknown; use {string.Join(", ", AllDecoders)}."))];

        public override ValidationResult Validate()
        {
            try
            {
                return ParsedK().Count == 0 || ParsedDecoders().Count == 0
                    ? ValidationResult.Error("--k and --decoders must each name at least one value")
                    : Limit is < 1 ? ValidationResult.Error($"--limit {Limit} must be at least 1") : ValidationResult.Success();
            }
            catch (ArgumentException e)
            {
                return ValidationResult.Error(e.Message);
            }
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 100);
        using var repository = DegradedModeRun.OpenRepository(settings.Models);
        var models = new List<CodedModel>();
        foreach (var name in settings.Model?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [])
        {
            if (repository.FindServed(name) is not { } model)
            {
                AnsiConsole.MarkupLine($"[red]Unknown model[/] '{Markup.Escape(name)}'; the repository serves: {Markup.Escape(string.Join(", ", repository.Served.Select(m => m.PublicName)))}.");
                return 1;
            }

            models.Add(model);
        }

        var reports = new List<DegradedModeReport>();
        foreach (var model in models.Count > 0 ? models : repository.Served)
        {
            if (model.Dataset is not { } dataset)
            {
                AnsiConsole.MarkupLine($"[yellow]Skipped {Markup.Escape(model.Name)}:[/] its config.json declares no \"dataset\" to evaluate it on.");
                continue;
            }

            var set = dataset == TestSets.FashionMnistName && settings.Data is not null
                ? LabeledSet.From(FashionMnist.LoadTestSet(settings.Data), "fmnist/test")
                : TestSets.Load(dataset, repository.Directory);
            if (await EvaluateAsync(repository, model, set, settings, cancellationToken) is { } report)
            {
                reports.Add(report);
            }
        }

        if (reports.Count == 0)
        {
            AnsiConsole.MarkupLine("[red]Nothing to evaluate:[/] every requested (model, decoder, k) lacks its model or data.");
            return 1;
        }

        if (settings.Json is { } path)
        {
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(reports, DegradedModeJsonContext.Default.ListDegradedModeReport), cancellationToken);
            AnsiConsole.MarkupLine($"Reports written to [grey]{Markup.Escape(path)}[/].");
        }

        return 0;
    }

    private static async Task<DegradedModeReport?> EvaluateAsync(ModelRepository repository, CodedModel model, LabeledSet set, Settings settings,
        CancellationToken cancellationToken)
    {
        var count = Math.Min(settings.Limit ?? set.Count, set.Count);
        var (cases, skipped) = DegradedModeRun.Cases(repository, model, settings.ParsedK(), settings.ParsedDecoders());
        foreach (var reason in skipped)
        {
            AnsiConsole.MarkupLine($"[yellow]Skipped:[/] {Markup.Escape(reason)}");
        }

        if (cases.Count == 0)
        {
            return null;
        }

        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]Degraded-mode accuracy of {Markup.Escape(model.Name)}[/]: {count} test items of [grey]{Markup.Escape(set.Name)}[/], models from [grey]{Markup.Escape(repository.Directory)}[/], {cases.Count} (decoder, k) cells"));
        DegradedModeReport? report = null;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var options = new DegradedModeEvaluatorOptions();
                var task = progress.AddTask("reconstructions", maxValue: Math.Max(1, DegradedModeRun.Reconstructions(cases, count, options)));
                report = await DegradedModeRun.EvaluateAsync(repository, model, set, count, cases, options, n => task.Increment(n), cancellationToken);
                task.Value = task.MaxValue;
            });

        AnsiConsole.Write(ResultTable(report!));
        return report;
    }

    private static Table ResultTable(DegradedModeReport report)
    {
        var table = new Table().Title(string.Create(CultureInfo.InvariantCulture,
            $"{report.Model}: own accuracy {report.Accuracy:0.0000} on {report.TestQueries} test items; mean encoder {report.EncodeMicrosecondsMedian:0.###} µs median"));
        foreach (var column in new[] { "decoder", "k", "degraded accuracy", "agreement", "decode ms (median)", "decode ms (p99)" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var r in report.Results)
        {
            table.AddRow(r.Decoder, $"{r.K}", r.DegradedAccuracy.ToString("0.0000", CultureInfo.InvariantCulture), r.Agreement.ToString("0.0000", CultureInfo.InvariantCulture),
                r.DecodeMillisecondsMedian.ToString("0.000", CultureInfo.InvariantCulture), r.DecodeMillisecondsP99.ToString("0.000", CultureInfo.InvariantCulture));
        }

        return table;
    }
}
