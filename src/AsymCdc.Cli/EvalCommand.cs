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

/// <summary>
/// <c>asymcdc eval</c>: degraded-mode accuracy (the ParM / ApproxIFER metric), offline on the real models. Groups of k
/// consecutive test images; each member in turn is missing and reconstructed by each decoder, then compared with the
/// label and with the model's own answer.
/// </summary>
public sealed class EvalCommand : AsyncCommand<EvalCommand.Settings>
{
    public static readonly string[] AllDecoders = ["exact", "compact", "parm", "approxifer"];

    public sealed class Settings : CommandSettings
    {
        [CommandOption("-k <KS>"), Description("Group sizes, comma-separated, each 2..4."), DefaultValue("2,3,4")]
        public string K { get; init; } = "2,3,4";

        [CommandOption("-d|--decoders <DECODERS>"), Description("Decoders, comma-separated: exact, compact, parm, approxifer."), DefaultValue("exact,compact,parm,approxifer")]
        public string Decoders { get; init; } = "exact,compact,parm,approxifer";

        [CommandOption("-n|--limit <N>"), Description("Evaluate only the first N test images (default: all 10,000).")]
        public int? Limit { get; init; }

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--data <DIR>"), Description("Folder with the Fashion-MNIST t10k files (default: models/data, then /usr/share/datasets/fashion-mnist).")]
        public string? Data { get; init; }

        [CommandOption("--json <FILE>"), Description("Also write the report as JSON to FILE.")]
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
        using var repository = ModelRepository.Open(new InferenceOptions
        {
            ModelRepository = settings.Models ?? ModelRepositoryLocator.Find(),
            IntraOpThreads = Environment.ProcessorCount,
            // Offline: the evaluator batches itself, so a micro-batching window would only add waiting.
            BatchWindowMicroseconds = 0,
            MaxBatchSize = 256,
        });
        var set = FashionMnist.LoadTestSet(settings.Data);
        var count = Math.Min(settings.Limit ?? set.Count, set.Count);
        var (cases, skipped) = Cases(repository, settings.ParsedK(), settings.ParsedDecoders());
        foreach (var reason in skipped)
        {
            AnsiConsole.MarkupLine($"[yellow]Skipped:[/] {Markup.Escape(reason)}");
        }

        if (cases.Count == 0)
        {
            AnsiConsole.MarkupLine("[red]Nothing to evaluate:[/] every requested (decoder, k) lacks its model.");
            return 1;
        }

        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]Degraded-mode accuracy[/]: {count} test images from [grey]{Markup.Escape(set.Directory)}[/], models from [grey]{Markup.Escape(repository.Directory)}[/], {cases.Count} (decoder, k) cells"));
        DegradedModeReport? report = null;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var options = new DegradedModeEvaluatorOptions();
                // Every decoded request (batched pass plus the unbatched timing samples) advances the bar.
                var total = cases.Sum(c => (count / c.K * c.K) + Math.Min(options.DecodeTimingSamples, count / c.K * c.K));
                var task = progress.AddTask("reconstructions", maxValue: Math.Max(1, total));
                var counted = cases.Select(c => c with { Decoder = new CountingDecoder(c.Decoder, n => task.Increment(n)) }).ToList();
                report = await new DegradedModeEvaluator(repository.Get(ModelNames.Classifier), options)
                    .EvaluateAsync(set.Slice(0, count), set.Labels.AsMemory(0, count), counted, cancellationToken);
                task.Value = task.MaxValue;
            });

        AnsiConsole.Write(ResultTable(report!));
        if (settings.Json is { } path)
        {
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report!, DegradedModeJsonContext.Default.DegradedModeReport), cancellationToken);
            AnsiConsole.MarkupLine($"Report written to [grey]{Markup.Escape(path)}[/].");
        }

        return 0;
    }

    /// <summary>The (decoder, k) cells whose models exist, and one line for each requested cell that cannot run.</summary>
    public static (List<EvaluationCase> Cases, List<string> Skipped) Cases(ModelRepository repository, IReadOnlyList<int> ks, IReadOnlyList<string> decoders)
    {
        var cases = new List<EvaluationCase>();
        var skipped = new List<string>();
        var classifier = Require(repository, ModelNames.Classifier);
        var needsInverse = decoders.Contains("exact");
        var exact = needsInverse ? new ExactDecoder(classifier, Require(repository, ModelNames.Inverse)) : null;
        // No fallback: a compact cell without its compact model is skipped, never silently scored with the exact decoder.
        var compact = new CompactDecoder(k => repository.Get(ModelNames.Compact(k)));
        foreach (var k in ks)
        {
            foreach (var decoder in decoders)
            {
                switch (decoder)
                {
                    case "exact":
                        cases.Add(new EvaluationCase(exact!, k));
                        break;
                    case "compact" when repository.Contains(ModelNames.Compact(k)):
                        cases.Add(new EvaluationCase(compact, k));
                        break;
                    case "compact":
                        skipped.Add($"compact at k = {k}: model '{ModelNames.Compact(k)}' is not in {repository.Directory} (train it with models/train.sh).");
                        break;
                    case "parm" when k is not (2 or 4):
                        skipped.Add($"parm at k = {k}: ParM parity models exist for k = 2 and 4 only.");
                        break;
                    case "parm" when !repository.Contains(ModelNames.Parm(k)):
                        skipped.Add($"parm at k = {k}: model '{ModelNames.Parm(k)}' is not in {repository.Directory} yet (train it with models/train.sh).");
                        break;
                    case "parm":
                        cases.Add(new EvaluationCase(new ParmDecoder(), k, repository.Get(ModelNames.Parm(k))));
                        break;
                    default:
                        cases.Add(new EvaluationCase(new ApproxIferDecoder(), k));
                        break;
                }
            }
        }

        return (cases, skipped);
    }

    private static IModelFunction Require(ModelRepository repository, string name) => repository.Contains(name)
        ? repository.Get(name)
        : throw new ModelRepositoryException($"'asymcdc eval' needs model '{name}', which is not in {repository.Directory}; train it with models/train.sh or pass --models DIR.");

    private static Table ResultTable(DegradedModeReport report)
    {
        var table = new Table().Title(string.Create(CultureInfo.InvariantCulture,
            $"{report.Model}: own accuracy {report.Accuracy:0.0000} on {report.TestQueries} test images; mean encoder {report.EncodeMicrosecondsMedian:0.###} µs median"));
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

    /// <summary>Forwards to a decoder and reports how many reconstructions it has done, for the progress bar.</summary>
    private sealed class CountingDecoder(IDecoder inner, Action<int> done) : IBatchDecoder
    {
        public DecoderKind Kind => inner.Kind;

        public async ValueTask<float[]> DecodeAsync(DecodeRequest request, CancellationToken cancellationToken = default)
        {
            var result = await inner.DecodeAsync(request, cancellationToken);
            done(1);
            return result;
        }

        public async ValueTask<float[][]> DecodeBatchAsync(IReadOnlyList<DecodeRequest> requests, CancellationToken cancellationToken = default)
        {
            float[][] results;
            if (inner is IBatchDecoder batch)
            {
                results = await batch.DecodeBatchAsync(requests, cancellationToken);
            }
            else
            {
                results = new float[requests.Count][];
                for (var r = 0; r < requests.Count; r++)
                {
                    results[r] = await inner.DecodeAsync(requests[r], cancellationToken);
                }
            }

            done(requests.Count);
            return results;
        }
    }
}
