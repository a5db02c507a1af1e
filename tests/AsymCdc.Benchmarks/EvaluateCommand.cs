using System.Text.Json;
using AsymCdc.Coding;
using AsymCdc.Coding.Evaluation;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Benchmarks;

/// <summary>
/// <c>evaluate [--models DIR] [--data DIR] [--count N] [--k 2,3,4] [--decoders exact,compact,parm,approxifer] [--out FILE]</c>: the degraded-mode
/// evaluation (DESIGN §3) on the real ONNX models and the Fashion-MNIST test set, every decoder at
/// every k that has its models (ParM only has k = 2 and 4). Prints the JSON report.
/// </summary>
internal static class EvaluateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? models = null, data = null, output = null;
        int? count = null;
        int[] ks = [2, 3, 4];
        string[] decoders = ["exact", "compact", "parm", "approxifer"];
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--models": models = value; i++; break;
                case "--data": data = value; i++; break;
                case "--out": output = value; i++; break;
                case "--count": count = int.Parse(value ?? "", System.Globalization.CultureInfo.InvariantCulture); i++; break;
                case "--decoders": decoders = (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries); i++; break;
                case "--k": ks = (value ?? "").Split(',').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(); i++; break;
                default:
                    await Console.Error.WriteLineAsync($"Unknown argument '{args[i]}'. Usage: evaluate [--models DIR] [--data DIR] [--count N] [--k 2,3,4] [--decoders exact,compact,parm,approxifer] [--out FILE]");
                    return 2;
            }
        }

        using var repository = ModelRepository.Open(new InferenceOptions
        {
            ModelRepository = models ?? ModelRepositoryLocator.Find(),
            IntraOpThreads = Math.Max(1, Environment.ProcessorCount),
            BatchWindowMicroseconds = 0,
            MaxBatchSize = 256,
        });
        var set = FashionMnist.LoadTestSet(data);
        var n = Math.Min(count ?? set.Count, set.Count);
        var classifier = repository.Get(ModelNames.Classifier);
        var inverse = repository.Get(ModelNames.Inverse);
        var exact = new ExactDecoder(classifier, inverse);
        var compact = new CompactDecoder(k => repository.Get(ModelNames.Compact(k)), exact);
        var cases = new List<EvaluationCase>();
        foreach (var k in ks)
        {
            if (decoders.Contains("exact"))
            {
                cases.Add(new EvaluationCase(exact, k));
            }

            if (decoders.Contains("compact") && k is >= ModelNames.MinK and <= ModelNames.MaxK && repository.Contains(ModelNames.Compact(k)))
            {
                cases.Add(new EvaluationCase(compact, k));
            }

            if (decoders.Contains("parm") && k is 2 or 4 && repository.Contains(ModelNames.Parm(k)))
            {
                cases.Add(new EvaluationCase(new ParmDecoder(), k, repository.Get(ModelNames.Parm(k))));
            }

            if (decoders.Contains("approxifer"))
            {
                cases.Add(new EvaluationCase(new ApproxIferDecoder(), k));
            }
        }

        var report = await new DegradedModeEvaluator(classifier).EvaluateAsync(set.Slice(0, n), set.Labels.AsMemory(0, n), cases);
        var json = JsonSerializer.Serialize(report, DegradedModeJsonContext.Default.DegradedModeReport);
        Console.WriteLine(json);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, json);
        }

        return 0;
    }
}
