using AsymCdc.Coding;
using AsymCdc.Coding.Evaluation;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Cli;

/// <summary>
/// <c>asymcdc eval</c>'s logic: degraded-mode accuracy (the ParM / ApproxIFER metric), offline on the real models. Groups
/// of k consecutive test images; each member in turn is missing and reconstructed by each decoder, then compared with the
/// label and with the model's own answer.
/// </summary>
public static class DegradedModeRun
{
    public static readonly string[] AllDecoders = ["exact", "compact", "parm", "approxifer"];

    /// <summary>The model repository as the offline evaluation uses it: every core, no micro-batching window (the
    /// evaluator batches itself, so a window would only add waiting).</summary>
    public static ModelRepository OpenRepository(string? models) => ModelRepository.Open(new InferenceOptions
    {
        ModelRepository = models ?? ModelRepositoryLocator.Find(),
        IntraOpThreads = Environment.ProcessorCount,
        BatchWindowMicroseconds = 0,
        MaxBatchSize = 256,
    });

    /// <summary>Reconstructions <see cref="EvaluateAsync"/> does for <paramref name="cases"/> over <paramref name="count"/>
    /// images (the batched pass plus the unbatched timing samples): the length of a progress bar.</summary>
    public static int Reconstructions(IReadOnlyList<EvaluationCase> cases, int count, DegradedModeEvaluatorOptions options) =>
        cases.Sum(c => (count / c.K * c.K) + Math.Min(options.DecodeTimingSamples, count / c.K * c.K));

    /// <summary>Evaluates <paramref name="model"/> on the first <paramref name="count"/> items of <paramref name="set"/>;
    /// <paramref name="done"/> hears of every reconstruction.</summary>
    public static Task<DegradedModeReport> EvaluateAsync(ModelRepository repository, CodedModel model, LabeledSet set, int count,
        IReadOnlyList<EvaluationCase> cases, DegradedModeEvaluatorOptions options, Action<int>? done, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(set);
        var counted = done is null ? cases : [.. cases.Select(c => c with { Decoder = new CountingDecoder(c.Decoder, done) })];
        return new DegradedModeEvaluator(new CodedClassifier(repository.Get(model.Name), model), options)
            .EvaluateAsync(set.Slice(0, count), set.Labels.AsMemory(0, count), counted, cancellationToken);
    }

    /// <summary>The (decoder, k) cells of <paramref name="model"/> whose companions exist, and one line for each requested
    /// cell that cannot run.</summary>
    public static (List<EvaluationCase> Cases, List<string> Skipped) Cases(ModelRepository repository, CodedModel model, IReadOnlyList<int> ks,
        IReadOnlyList<string> decoders)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(model);
        var cases = new List<EvaluationCase>();
        var skipped = new List<string>();
        var classifier = new CodedClassifier(repository.Get(model.Name), model);
        var exact = model.Inverse is { } inverse ? new ExactDecoder(classifier, repository.Get(inverse)) : null;
        // No fallback: a compact cell without its compact model is skipped, never silently scored with the exact decoder.
        var compact = new CompactDecoder(k => repository.Get(model.Compact[k]));
        foreach (var k in ks)
        {
            foreach (var decoder in decoders)
            {
                switch (decoder)
                {
                    case "exact" when exact is null:
                        skipped.Add($"{model.Name}: exact at k = {k}: it has no inverse (a model with role 'inverse' and \"serves\": \"{model.Name}\").");
                        break;
                    case "exact":
                        cases.Add(new EvaluationCase(exact, k));
                        break;
                    case "compact" when model.Compact.ContainsKey(k):
                        cases.Add(new EvaluationCase(compact, k));
                        break;
                    case "compact":
                        skipped.Add($"{model.Name}: compact at k = {k}: no compact decoder for k = {k} in {repository.Directory}{Having(model.Compact)} "
                            + "(models/train.sh, or asymcdc train-decoders for your own model).");
                        break;
                    case "parm" when model.Parity.TryGetValue(k, out var parity):
                        cases.Add(new EvaluationCase(new ParmDecoder(), k, repository.Get(parity)));
                        break;
                    case "parm":
                        skipped.Add($"{model.Name}: parm at k = {k}: no ParM parity model for k = {k}{Having(model.Parity)}.");
                        break;
                    default:
                        cases.Add(new EvaluationCase(new ApproxIferDecoder(), k));
                        break;
                }
            }
        }

        return (cases, skipped);
    }

    private static string Having(IReadOnlyDictionary<int, string> byK) =>
        byK.Count == 0 ? "" : $" (it has k = {string.Join(", ", byK.Keys.Order())})";

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
