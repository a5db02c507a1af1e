using System.Globalization;
using System.Text;

namespace AsymCdc.Training;

/// <summary>What <see cref="DecoderTrainer"/> does: <c>asymcdc train-decoders</c>'s options.</summary>
public sealed record DecoderTrainingOptions
{
    /// <summary>The default output holding the logits.</summary>
    public const string DefaultLogitsOutput = "logits";

    /// <summary>The output used as the decoders' input when neither <see cref="FeatureOutput"/> nor
    /// <see cref="LogitsOnly"/> is given and the model has it.</summary>
    public const string DefaultFeatureOutput = "features";

    public const int MinK = 2;
    public const int MaxK = 8;
    public const int DefaultSeed = 20261206;
    public const string DefaultPython = "/usr/bin/python3";

    /// <summary>The user's classifier: <c>&lt;repository&gt;/&lt;Model&gt;/config.json</c> + <c>1/model.onnx</c>.</summary>
    public required string Model { get; init; }

    /// <summary><c>fmnist</c>, <c>digits</c>, or a folder holding <c>train.json</c> and <c>test.json</c> in the
    /// tensor-dataset format (AsymCdc.Inference.Data.TensorDataset).</summary>
    public required string Data { get; init; }

    /// <summary>The output the compact decoders read (the model's features); null for <see cref="DefaultFeatureOutput"/>
    /// when the model has it.</summary>
    public string? FeatureOutput { get; init; }

    /// <summary>The decoders read only the logits (for a model that exposes nothing else).</summary>
    public bool LogitsOnly { get; init; }

    public string LogitsOutput { get; init; } = DefaultLogitsOutput;

    /// <summary>Group sizes to train a compact decoder for.</summary>
    public IReadOnlyList<int> Ks { get; init; } = [2, 3, 4];

    /// <summary>Group sizes to train a ParM parity model for; empty for none.</summary>
    public IReadOnlyList<int> ParmKs { get; init; } = [];

    /// <summary>The model repository (default: the <c>models/</c> folder found above the working directory).</summary>
    public string? Repository { get; init; }

    /// <summary>Passes over the training groups, per exported model.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Use only the first N training and N test examples.</summary>
    public int? Limit { get; init; }

    /// <summary>Random groups per k for the compact decoders (default: max(N, min(60,000, 20·N)) for N training examples).</summary>
    public int? Groups { get; init; }

    public int Seed { get; init; } = DefaultSeed;

    public string Python { get; init; } = DefaultPython;

    /// <summary>The folder holding <c>training/user_decoders.py</c> (default: the repository, then the nearest <c>models/</c>).</summary>
    public string? TrainingCode { get; init; }

    /// <summary>Stop each model's training after this many steps (tests only).</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Append (or replace) the model's entry in <c>&lt;repository&gt;/MODEL_CARD.md</c>.</summary>
    public bool WriteModelCard { get; init; } = true;

    /// <summary>The groups per k for <paramref name="trainingCount"/> training examples.</summary>
    public int GroupsFor(int trainingCount) => Groups ?? Math.Max(trainingCount, Math.Min(60_000, 20 * trainingCount));

    /// <summary>Every problem with the options themselves (the model and data are checked when opened), one line each.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Model))
        {
            problems.Add("--model is required: the name of your classifier in the model repository.");
        }

        if (string.IsNullOrWhiteSpace(Data))
        {
            problems.Add("--data is required: fmnist, digits, or a folder holding train.json and test.json.");
        }

        if (LogitsOnly && FeatureOutput is not null)
        {
            problems.Add($"--feature-output {FeatureOutput} and --logits-only contradict each other; pass one.");
        }

        if (Ks.Count == 0 && ParmKs.Count == 0)
        {
            problems.Add("-k names no group size: nothing to train.");
        }

        foreach (var k in Ks.Concat(ParmKs))
        {
            if (k is < MinK or > MaxK)
            {
                problems.Add($"k = {k} is outside {MinK}..{MaxK}.");
            }
        }

        if (Epochs < 1)
        {
            problems.Add($"--epochs {Epochs} must be at least 1.");
        }

        if (Limit is { } limit && limit < Ks.Concat(ParmKs).DefaultIfEmpty(MinK).Max())
        {
            problems.Add($"--limit {limit} is too small: it must leave at least one group of the largest k.");
        }

        if (Groups is < 1)
        {
            problems.Add($"--groups {Groups} must be at least 1.");
        }

        if (MaxSteps is < 1)
        {
            problems.Add($"max steps {MaxSteps} must be at least 1.");
        }

        return problems;
    }

    /// <summary>The options as an <c>asymcdc train-decoders</c> command line (for the model card).</summary>
    public string ToCommandLine()
    {
        var line = new StringBuilder($"asymcdc train-decoders --model {Model} --data {Data}");
        if (LogitsOnly)
        {
            line.Append(" --logits-only");
        }
        else if (FeatureOutput is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $" --feature-output {FeatureOutput}");
        }

        if (LogitsOutput != DefaultLogitsOutput)
        {
            line.Append(CultureInfo.InvariantCulture, $" --logits-output {LogitsOutput}");
        }

        if (Ks.Count > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $" -k {string.Join(',', Ks)}");
        }

        if (ParmKs.Count > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $" --parm --parm-k {string.Join(',', ParmKs)}");
        }

        if (Epochs != 3)
        {
            line.Append(CultureInfo.InvariantCulture, $" --epochs {Epochs}");
        }

        if (Limit is { } limit)
        {
            line.Append(CultureInfo.InvariantCulture, $" --limit {limit}");
        }

        if (Groups is { } groups)
        {
            line.Append(CultureInfo.InvariantCulture, $" --groups {groups}");
        }

        if (Seed != DefaultSeed)
        {
            line.Append(CultureInfo.InvariantCulture, $" --seed {Seed}");
        }

        return line.ToString();
    }

    /// <summary>Parses a comma-separated list of group sizes ("2,3,4"); throws <see cref="ArgumentException"/> naming the
    /// bad entry.</summary>
    public static IReadOnlyList<int> ParseKs(string? value, string option)
    {
        var ks = new List<int>();
        foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) || k is < MinK or > MaxK)
            {
                throw new ArgumentException($"{option}: '{part}' is not a group size in {MinK}..{MaxK}.");
            }

            if (!ks.Contains(k))
            {
                ks.Add(k);
            }
        }

        return ks;
    }
}
