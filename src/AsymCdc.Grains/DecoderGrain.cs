using System.Collections.Concurrent;
using AsymCdc.Abstractions;
using AsymCdc.Coding;
using Orleans.Concurrency;
using Orleans.GrainDirectory;

namespace AsymCdc.Grains;

/// <summary>Runs the decoder of a coded mode; invoked only on a miss. A stateless worker, so it runs on the silo of
/// the parity group that calls it (no extra hop) and scales with the decodes in flight.</summary>
[StatelessWorker]
[GrainDirectory(PlacementOnlyDirectory.Name)]
[Reentrant]
public sealed class DecoderGrain(DecoderSet decoders) : Grain, IDecoderGrain
{
    public async ValueTask<float[]> DecodeAsync(DecodeCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var data = new MemberAnswer?[call.Data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = call.Data[i] is { } answer ? new MemberAnswer(answer.Logits, answer.Features) : null;
        }

        var request = new DecodeRequest(call.K, call.MissingIndex, data, new MemberAnswer(call.Parity.Logits, call.Parity.Features));
        return await decoders.For(call.Model, call.Mode).DecodeAsync(request);
    }
}

/// <summary>The decoders of each served model's coded modes, built once per silo from the model catalog on first use.</summary>
public sealed class DecoderSet(IModelCatalog models)
{
    private readonly ConcurrentDictionary<(string Model, ServingMode Mode), IDecoder> _decoders = new();

    public IDecoder For(string model, ServingMode mode) => _decoders.GetOrAdd((model, mode), static (key, catalog) =>
    {
        var served = catalog.FindServed(key.Model) ?? throw new PredictionException(PredictionErrorCode.UnknownModel,
            $"no served model '{key.Model}' to decode for; this silo serves: {string.Join(", ", catalog.Served.Select(m => m.Name))}");
        IModelFunction? inverse = served.Inverse is { } name ? catalog.Get(name) : null;
        var classifier = new CodedClassifier(catalog.Get(served.Name), served);
        return key.Mode switch
        {
            ServingMode.AsymCdcExact => Decoders.Create(DecoderKind.Exact, classifier,
                inverse ?? throw new PredictionException(PredictionErrorCode.ModeNotSupported, $"model '{served.Name}' has no inverse to decode exactly with")),
            // The exact decoder backs up the compact one for a partial group size without a compact model, where there is an inverse.
            ServingMode.AsymCdcCompact => Decoders.Create(DecoderKind.Compact, inverse is null ? null : classifier, inverse,
                k => served.Compact.TryGetValue(k, out var compact) ? catalog.Get(compact)
                    : throw new PredictionException(PredictionErrorCode.ModeNotSupported, $"model '{served.Name}' has no compact decoder for groups of {k}")),
            ServingMode.Parm => Decoders.Create(DecoderKind.Parm),
            ServingMode.ApproxIfer => Decoders.Create(DecoderKind.ApproxIfer),
            _ => throw new PredictionException(PredictionErrorCode.UnknownMode, $"mode '{key.Mode.ToName()}' has no decoder; only coded modes decode"),
        };
    }, models);
}
