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

    /// <summary>Evaluates the first <paramref name="count"/> images of <paramref name="set"/>; <paramref name="done"/> hears
    /// of every reconstruction.</summary>
    public static Task<DegradedModeReport> EvaluateAsync(ModelRepository repository, FashionMnistSet set, int count,
        IReadOnlyList<EvaluationCase> cases, DegradedModeEvaluatorOptions options, Action<int>? done, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(set);
        var counted = done is null ? cases : [.. cases.Select(c => c with { Decoder = new CountingDecoder(c.Decoder, done) })];
        return new DegradedModeEvaluator(repository.Get(ModelNames.Classifier), options)
            .EvaluateAsync(set.Slice(0, count), set.Labels.AsMemory(0, count), counted, cancellationToken);
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
