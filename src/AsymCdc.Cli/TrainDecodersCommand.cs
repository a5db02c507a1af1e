using System.ComponentModel;
using System.Globalization;
using AsymCdc.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc train-decoders</c>: compact decoders and ParM parity models for a user's classifier, trained from its
/// own outputs (<see cref="DecoderTrainer"/>).</summary>
public sealed class TrainDecodersCommand : AsyncCommand<TrainDecodersCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <NAME>"), Description("Your classifier in the model repository: NAME/config.json + NAME/1/model.onnx.")]
        public string? Model { get; init; }

        [CommandOption("--data <DATA>"), Description("fmnist, digits, or a folder holding train.json and test.json (tensor-dataset format, models/data/README.md).")]
        public string? Data { get; init; }

        [CommandOption("--feature-output <NAME>"), Description("The output the compact decoders read (default: 'features' when the model has it).")]
        public string? FeatureOutput { get; init; }

        [CommandOption("--logits-only"), Description("The decoders read only the logits (for a model that exposes nothing else).")]
        public bool LogitsOnly { get; init; }

        [CommandOption("--logits-output <NAME>"), Description("The output holding the logits."), DefaultValue(DecoderTrainingOptions.DefaultLogitsOutput)]
        public string LogitsOutput { get; init; } = DecoderTrainingOptions.DefaultLogitsOutput;

        [CommandOption("-k <KS>"), Description("Group sizes to train a compact decoder for, comma-separated, each 2..8."), DefaultValue("2,3,4")]
        public string K { get; init; } = "2,3,4";

        [CommandOption("--parm"), Description("Also train ParM parity models (for the k's of --parm-k, default those of -k).")]
        public bool Parm { get; init; }

        [CommandOption("--parm-k <KS>"), Description("Group sizes to train a ParM parity model for (with --parm).")]
        public string? ParmK { get; init; }

        [CommandOption("--repository <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Repository { get; init; }

        [CommandOption("--epochs <N>"), Description("Training epochs per exported model."), DefaultValue(3)]
        public int Epochs { get; init; } = 3;

        [CommandOption("-n|--limit <N>"), Description("Use only the first N training and N test examples (a quick try).")]
        public int? Limit { get; init; }

        [CommandOption("--groups <N>"), Description("Random groups per k for the compact decoders (default max(N, min(60000, 20 N))).")]
        public int? Groups { get; init; }

        [CommandOption("--seed <N>"), Description("Seed of the groups and of PyTorch."), DefaultValue(DecoderTrainingOptions.DefaultSeed)]
        public int Seed { get; init; } = DecoderTrainingOptions.DefaultSeed;

        [CommandOption("--python <PATH>"), Description("Python with PyTorch and ONNX (Debian's python3-torch, python3-onnx)."), DefaultValue(DecoderTrainingOptions.DefaultPython)]
        public string Python { get; init; } = DecoderTrainingOptions.DefaultPython;

        /// <summary>The library's options; throws <see cref="ArgumentException"/> naming a bad list.</summary>
        public DecoderTrainingOptions ToOptions()
        {
            var ks = DecoderTrainingOptions.ParseKs(K, "-k");
            IReadOnlyList<int> parmKs = !Parm ? [] : ParmK is null ? ks : DecoderTrainingOptions.ParseKs(ParmK, "--parm-k");
            return new DecoderTrainingOptions
            {
                Model = Model ?? "",
                Data = Data ?? "",
                FeatureOutput = FeatureOutput,
                LogitsOnly = LogitsOnly,
                LogitsOutput = LogitsOutput,
                Ks = ks,
                ParmKs = parmKs,
                Repository = Repository,
                Epochs = Epochs,
                Limit = Limit,
                Groups = Groups,
                Seed = Seed,
                Python = Python,
            };
        }

        public override ValidationResult Validate()
        {
            if (ParmK is not null && !Parm)
            {
                return ValidationResult.Error("--parm-k needs --parm.");
            }

            try
            {
                var problems = ToOptions().Problems();
                return problems.Count == 0 ? ValidationResult.Success() : ValidationResult.Error(string.Join(" ", problems));
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
        DecoderTrainingResult result;
        try
        {
            result = await DecoderTrainer.RunAsync(settings.ToOptions(), line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"), cancellationToken);
        }
        catch (DecoderTrainingException e)
        {
            AnsiConsole.MarkupLine($"[red]train-decoders:[/] {Markup.Escape(e.Message)}");
            return 1;
        }

        var e2 = result.Evaluation;
        var table = new Table().Title(string.Create(CultureInfo.InvariantCulture,
            $"{e2.Model}: own accuracy {e2.Accuracy:0.0000} on {e2.TestQueries} test examples; decoders in {result.Repository}"));
        foreach (var column in new[] { "decoder", "k", "degraded accuracy", "agreement", "decode ms (median)" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var r in e2.Results)
        {
            table.AddRow(r.Decoder, $"{r.K}", r.DegradedAccuracy.ToString("0.0000", CultureInfo.InvariantCulture),
                r.Agreement.ToString("0.0000", CultureInfo.InvariantCulture), r.DecodeMillisecondsMedian.ToString("0.000", CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
        foreach (var m in result.Exports)
        {
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[green]{Markup.Escape(m.Name)}[/]: {m.Role}, k = {m.K}, input [[{string.Join(',', m.InputDims)}]], {m.Parameters:N0} parameters, {m.OnnxBytes / 1024.0:N0} KB, golden max diff {m.GoldenMaxAbsDiff:0.0e+0}"));
        }

        if (result.ModelCard is { } card)
        {
            AnsiConsole.MarkupLine($"Model card entry written to [grey]{Markup.Escape(card)}[/].");
        }

        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"Done in {result.WallTime.TotalSeconds:F0} s."));
        return 0;
    }
}
