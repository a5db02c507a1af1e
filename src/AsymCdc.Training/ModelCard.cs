using System.Globalization;
using System.Text;
using AsymCdc.Coding;

namespace AsymCdc.Training;

/// <summary>
/// The model-card entry of a user's model (<c>MODEL_CARD.md</c> of the repository): what was trained from what, and the
/// degraded accuracy measured by the C# evaluator. Each entry sits between two HTML comments naming the model, so a
/// second run replaces its entry instead of adding another.
/// </summary>
public static class ModelCard
{
    public const string FileName = "MODEL_CARD.md";

    public static string BeginMarker(string model) => $"<!-- asymcdc train-decoders: {model} -->";

    public static string EndMarker(string model) => $"<!-- /asymcdc train-decoders: {model} -->";

    /// <summary>Replaces <paramref name="model"/>'s entry in the card at <paramref name="path"/>, or appends it (creating the
    /// file when there is none).</summary>
    public static void Upsert(string path, string model, string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Model card\n";
        var begin = text.IndexOf(BeginMarker(model), StringComparison.Ordinal);
        var endMarker = EndMarker(model);
        var end = begin < 0 ? -1 : text.IndexOf(endMarker, begin, StringComparison.Ordinal);
        if (begin >= 0 && end >= 0)
        {
            text = string.Concat(text.AsSpan(0, begin), entry.TrimEnd('\n'), text.AsSpan(end + endMarker.Length));
        }
        else
        {
            text = text.TrimEnd('\n') + "\n\n" + entry.TrimEnd('\n') + "\n";
        }

        File.WriteAllText(path, text);
    }

    /// <summary>The entry, markers included.</summary>
    public static string Entry(DecoderTrainingResult result, DateTime written)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = result.Options;
        var e = result.Evaluation;
        var c = CultureInfo.InvariantCulture;
        var card = new StringBuilder();
        card.AppendLine(BeginMarker(o.Model));
        card.AppendLine(c, $"## {o.Model} — decoders trained from the model's own outputs (`asymcdc train-decoders`)");
        card.AppendLine();
        card.AppendLine(c, $"Written by `{o.ToCommandLine()}` on {written:yyyy-MM-dd}: {result.WallTime.TotalSeconds:F0} s of wall time on "
            + $"{Environment.ProcessorCount} cores (targets {result.TargetsTime.TotalSeconds:F0} s, PyTorch training {result.TrainingTime.TotalSeconds:F0} s, "
            + $"checks and evaluation {result.EvaluationTime.TotalSeconds:F0} s).");
        card.AppendLine();
        card.AppendLine(c, $"- **Classifier** `{o.Model}`: input `{result.ClassifierInput}`, logits `{result.LogitsOutput}`; its own accuracy "
            + $"**{e.Accuracy:0.0000}** on the {e.TestQueries:N0} test examples.");
        card.AppendLine(result.LogitsOnly
            ? $"- **Decoder input** (logits only): the logits `{result.MemberOutput}` of the k−1 available members in group order, then the parity's "
              + "(the model's logits on the mean of the k inputs), back to back."
            : $"- **Decoder input**: output `{result.MemberOutput}` of the k−1 available members in group order, then the parity's (the model's "
              + "output on the mean of the k inputs), back to back.");
        card.AppendLine(c, $"- **Data**: {result.DataDescription}; {result.TrainingExamples:N0} training and {result.TestExamples:N0} test examples used.");
        var outputs = result.LogitsOnly ? "logits" : $"logits and `{MemberName(result)}`";
        card.AppendLine(c, $"- **Training**: targets computed by ONNX Runtime (C#): the model's {outputs} on every training "
            + $"example and, for each k, on the means of {result.GroupsPerK:N0} random groups; PyTorch {result.Torch} (CPU) then trained each model "
            + $"{o.Epochs} epoch(s), seed {o.Seed} (`models/training/user_decoders.py`). Compact decoders: knowledge distillation (KL, T = 2) "
            + $"against the model's logits on the missing member.");
        if (o.ParmKs.Count > 0)
        {
            card.AppendLine("- **ParM**: the parity model takes the sum of the k inputs and is trained with MSE towards the sum of the model's "
                + "logits; unlike ParM, which fine-tunes a copy of the deployed network, it is a generic network trained from scratch "
                + "(only the ONNX graph of the user's model is known).");
        }

        card.AppendLine();
        card.AppendLine("| model | role | k | input | parameters | MFLOPs | ONNX KB | train s | train agreement | golden max diff (ORT vs PyTorch) |");
        card.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var m in result.Exports)
        {
            card.AppendLine(c, $"| {m.Name} | {m.Role} | {m.K} | [{string.Join(',', m.InputDims)}] | {m.Parameters:N0} | {m.Flops / 1e6:0.00} | "
                + $"{m.OnnxBytes / 1024.0:N0} | {m.TrainSeconds:0} | {(m.TrainAgreement is { } a ? a.ToString("0.0000", c) : "—")} | {m.GoldenMaxAbsDiff:0.0e+0} |");
        }

        card.AppendLine();
        card.AppendLine(c, $"Degraded-mode accuracy, measured by the C# evaluator (ONNX Runtime on CPU, the product's decoders): groups of k "
            + $"consecutive test examples ({e.TestQueries:N0}), every member missing in turn; agreement = same argmax as the model on the undisturbed "
            + $"query. The exact decoder needs an invertible model and does not apply.");
        card.AppendLine();
        card.AppendLine("| decoder | k | degraded accuracy | agreement with the model | decode ms (median, unbatched) |");
        card.AppendLine("|---|---|---|---|---|");
        card.AppendLine(c, $"| model itself (no failure) | — | {e.Accuracy:0.0000} | 1.0000 | — |");
        foreach (var r in e.Results.OrderBy(r => Rank(r.Decoder)).ThenBy(r => r.K))
        {
            var name = r.Decoder == Decoders.NameOf(DecoderKind.ApproxIfer) ? "approxifer (Berrut, N = k+1, untrained reference)" : r.Decoder;
            var accuracy = r.DegradedAccuracy.ToString("0.0000", c);
            accuracy = r.Decoder == Decoders.NameOf(DecoderKind.ApproxIfer) ? accuracy : $"**{accuracy}**";
            card.AppendLine(c, $"| {name} | {r.K} | {accuracy} | {r.Agreement:0.0000} | {r.DecodeMillisecondsMedian:0.000} |");
        }

        card.AppendLine(EndMarker(o.Model));
        return card.ToString();
    }

    private static string MemberName(DecoderTrainingResult result)
    {
        var member = result.MemberOutput;
        var space = member.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? member : member[..space];
    }

    private static int Rank(string decoder) => decoder switch
    {
        "compact" => 0,
        "parm" => 1,
        _ => 2,
    };
}
