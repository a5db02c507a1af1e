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
        return await decoders.For(call.Mode).DecodeAsync(request);
    }
}

/// <summary>The decoders of the coded modes, built once per silo from the model catalog on first use.</summary>
public sealed class DecoderSet(IModelCatalog models)
{
    private readonly ConcurrentDictionary<ServingMode, IDecoder> _decoders = new();

    public IDecoder For(ServingMode mode) => _decoders.GetOrAdd(mode, static (m, catalog) => m switch
    {
        ServingMode.AsymCdcExact => Decoders.Create(DecoderKind.Exact,
            catalog.Get(ServingModels.Classifier), catalog.Get(ServingModels.Inverse)),
        // The exact decoder backs up the compact one for a partial group size without a compact model.
        ServingMode.AsymCdcCompact => Decoders.Create(DecoderKind.Compact,
            catalog.Get(ServingModels.Classifier), catalog.Get(ServingModels.Inverse), k => catalog.Get(ServingModels.Compact(k))),
        ServingMode.Parm => Decoders.Create(DecoderKind.Parm),
        ServingMode.ApproxIfer => Decoders.Create(DecoderKind.ApproxIfer),
        _ => throw new PredictionException(PredictionErrorCode.UnknownMode, $"mode '{m.ToName()}' has no decoder; only coded modes decode"),
    }, models);
}
