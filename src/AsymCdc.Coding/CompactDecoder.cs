using System.Collections.Concurrent;

namespace AsymCdc.Coding;

/// <summary>
/// The AsymCDC compact decoder (DESIGN §2): a small network distilled from the exact path. Its input
/// is the k−1 available data feature maps in group order followed by the parity's, stacked on the
/// channel axis ([16k, 7, 7] for the reference model, i.e. back to back), and its output is the
/// missing member's logits. One model per k: <c>fmnist-compact-k{k}</c>.
/// </summary>
/// <remarks>
/// A partial group of one needs no model: its parity is the member itself (X_p = X_1), so the parity's
/// answer is returned. When no compact model exists for a group's k' (the lookup throws, e.g. a
/// partial group of 3 with only k2/k4 deployed), the request goes to the fallback decoder if one was
/// given (the exact decoder is the natural one: same inputs, exact answer, slower); without a
/// fallback the decoder throws an <see cref="InvalidOperationException"/> naming k'. It never
/// substitutes a model trained for another k, whose input width would not even match.
/// </remarks>
public sealed class CompactDecoder : IBatchDecoder
{
    private readonly Func<int, IModelFunction> _compactForK;
    private readonly IDecoder? _fallback;
    private readonly ConcurrentDictionary<int, Lookup> _models = new();

    /// <param name="compactForK">Returns the compact model for a group of k data members; may throw when none exists.</param>
    /// <param name="fallback">Decodes groups whose k has no compact model; null to fail them with a clear error.</param>
    public CompactDecoder(Func<int, IModelFunction> compactForK, IDecoder? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(compactForK);
        _compactForK = compactForK;
        _fallback = fallback;
    }

    public DecoderKind Kind => DecoderKind.Compact;

    public async ValueTask<float[]> DecodeAsync(DecodeRequest request, CancellationToken cancellationToken = default)
        => (await DecodeBatchAsync([request], cancellationToken).ConfigureAwait(false))[0];

    public async ValueTask<float[][]> DecodeBatchAsync(IReadOnlyList<DecodeRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new float[requests.Count][];
        Dictionary<int, List<int>>? byK = null;
        List<int>? forFallback = null;
        for (var r = 0; r < requests.Count; r++)
        {
            var request = requests[r];
            DecodeRequestValidation.Validate(request, Kind, logitsLength: null, needsFeatures: true);
            if (request.K == 1)
            {
                // X_p = X_1: the parity's answer is the member's answer.
                results[r] = (float[])request.Parity.Logits.Clone();
                continue;
            }

            if (Resolve(request.K).Model is null)
            {
                (forFallback ??= []).Add(r);
                continue;
            }

            byK ??= [];
            if (!byK.TryGetValue(request.K, out var indices))
            {
                byK[request.K] = indices = [];
            }

            indices.Add(r);
        }

        if (byK is not null)
        {
            foreach (var (k, indices) in byK)
            {
                await DecodeWithModelAsync(Resolve(k).Model!, k, requests, indices, results, cancellationToken).ConfigureAwait(false);
            }
        }

        if (forFallback is not null)
        {
            await DecodeWithFallbackAsync(requests, forFallback, results, cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    private static async ValueTask DecodeWithModelAsync(IModelFunction model, int k, IReadOnlyList<DecodeRequest> requests, List<int> indices, float[][] results, CancellationToken cancellationToken)
    {
        var zLength = requests[indices[0]].Parity.Features!.Length;
        var logitsLength = model.OutputLengths[0];
        if (model.InputLength != k * zLength)
        {
            throw new InvalidOperationException(
                $"Compact model '{model.Name}' for k = {k} takes {model.InputLength} floats but k feature maps of {zLength} floats make {k * zLength}; check that it was trained for k = {k} on this classifier.");
        }

        // Stack per request: the k−1 data z's in group order, then the parity's z.
        var inputs = new float[indices.Count * model.InputLength];
        var offset = 0;
        foreach (var r in indices)
        {
            var request = requests[r];
            if (request.Parity.Features!.Length != zLength)
            {
                throw new ArgumentException($"Compact decode: groups of k = {k} in one batch carry feature maps of {zLength} and {request.Parity.Features.Length} floats; every z must have the classifier's feature length.", nameof(requests));
            }

            for (var j = 0; j < k; j++)
            {
                if (j != request.MissingIndex)
                {
                    request.Data[j]!.Features.AsSpan().CopyTo(inputs.AsSpan(offset, zLength));
                    offset += zLength;
                }
            }

            request.Parity.Features.AsSpan().CopyTo(inputs.AsSpan(offset, zLength));
            offset += zLength;
        }

        var outputs = await model.RunAsync(inputs, indices.Count, cancellationToken).ConfigureAwait(false);
        if (outputs is not { Length: > 0 } || outputs[0]?.Length != indices.Count * logitsLength)
        {
            throw new InvalidOperationException($"Compact model '{model.Name}' returned {outputs?.FirstOrDefault()?.Length ?? 0} floats for {indices.Count} items; expected {indices.Count * logitsLength}.");
        }

        for (var n = 0; n < indices.Count; n++)
        {
            results[indices[n]] = outputs[0].AsSpan(n * logitsLength, logitsLength).ToArray();
        }
    }

    private async ValueTask DecodeWithFallbackAsync(IReadOnlyList<DecodeRequest> requests, List<int> indices, float[][] results, CancellationToken cancellationToken)
    {
        if (_fallback is null)
        {
            var k = requests[indices[0]].K;
            throw new InvalidOperationException(
                $"No compact decoder model for groups of k = {k}: {Resolve(k).Error?.Message} Deploy the compact model for k = {k} or construct the CompactDecoder with a fallback decoder (e.g. ExactDecoder).",
                Resolve(k).Error);
        }

        if (_fallback is IBatchDecoder batch)
        {
            var subset = new DecodeRequest[indices.Count];
            for (var n = 0; n < indices.Count; n++)
            {
                subset[n] = requests[indices[n]];
            }

            var decoded = await batch.DecodeBatchAsync(subset, cancellationToken).ConfigureAwait(false);
            for (var n = 0; n < indices.Count; n++)
            {
                results[indices[n]] = decoded[n];
            }

            return;
        }

        foreach (var r in indices)
        {
            results[r] = await _fallback.DecodeAsync(requests[r], cancellationToken).ConfigureAwait(false);
        }
    }

    private Lookup Resolve(int k) => _models.GetOrAdd(k, static (key, lookup) =>
    {
        try
        {
            var model = lookup(key);
            return model is null
                ? new Lookup(null, new InvalidOperationException($"The compact model lookup returned null for k = {key}."))
                : new Lookup(model, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new Lookup(null, ex);
        }
    }, _compactForK);

    private sealed record Lookup(IModelFunction? Model, Exception? Error);
}
