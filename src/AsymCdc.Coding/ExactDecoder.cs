using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The AsymCDC exact decoder (DESIGN §2). The deployed classifier is invertible and every worker
/// returned its feature map z, so the decoder inverts the k available z's (k−1 data + parity) back to
/// inputs in one batched call of the inverse graph, recovers X_i = k·X_p − Σ_{j≠i} X_j (the mean
/// encoder run backwards), and runs the classifier forward on X_i. The answer equals the straggler's
/// up to float error, and no query is cached anywhere.
/// </summary>
public sealed class ExactDecoder : IBatchDecoder
{
    private readonly IModelFunction _classifier;
    private readonly IModelFunction _inverse;

    /// <param name="classifier">The deployed invertible model: input X, output 0 = logits.</param>
    /// <param name="inverse">Its inverse graph: input z, output 0 = X.</param>
    public ExactDecoder(IModelFunction classifier, IModelFunction inverse)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(inverse);
        if (classifier.OutputLengths.Count == 0)
        {
            throw new ArgumentException($"Classifier '{classifier.Name}' declares no outputs; the exact decoder needs its logits (output 0).", nameof(classifier));
        }

        if (inverse.OutputLengths.Count == 0 || inverse.OutputLengths[0] != classifier.InputLength)
        {
            throw new ArgumentException(
                $"Inverse '{inverse.Name}' returns {(inverse.OutputLengths.Count == 0 ? "nothing" : $"{inverse.OutputLengths[0]} floats")} per item but classifier '{classifier.Name}' takes {classifier.InputLength}; pair the classifier with its own inverse.",
                nameof(inverse));
        }

        _classifier = classifier;
        _inverse = inverse;
    }

    public DecoderKind Kind => DecoderKind.Exact;

    public async ValueTask<float[]> DecodeAsync(DecodeRequest request, CancellationToken cancellationToken = default)
        => (await DecodeBatchAsync([request], cancellationToken).ConfigureAwait(false))[0];

    public async ValueTask<float[][]> DecodeBatchAsync(IReadOnlyList<DecodeRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var logitsLength = _classifier.OutputLengths[0];
        var zLength = _inverse.InputLength;
        var results = new float[requests.Count][];
        var toInvert = new List<int>(requests.Count);
        var zCount = 0;
        for (var r = 0; r < requests.Count; r++)
        {
            var request = requests[r];
            DecodeRequestValidation.Validate(request, Kind, logitsLength, needsFeatures: true, zLength);
            if (request.K == 1)
            {
                // A partial group of one: X_p = X_1, so the parity's answer is the member's.
                results[r] = (float[])request.Parity.Logits.Clone();
                continue;
            }

            toInvert.Add(r);
            zCount += request.K;
        }

        if (toInvert.Count == 0)
        {
            return results;
        }

        // One inverse call over every available z: per request, the k−1 data z's in group order, then the parity's.
        var zs = new float[zCount * zLength];
        var offset = 0;
        foreach (var r in toInvert)
        {
            var request = requests[r];
            for (var j = 0; j < request.K; j++)
            {
                if (j != request.MissingIndex)
                {
                    request.Data[j]!.Features.AsSpan().CopyTo(zs.AsSpan(offset, zLength));
                    offset += zLength;
                }
            }

            request.Parity.Features.AsSpan().CopyTo(zs.AsSpan(offset, zLength));
            offset += zLength;
        }

        var xs = Output(await _inverse.RunAsync(zs, zCount, cancellationToken).ConfigureAwait(false), _inverse, zCount);

        // X_i = k·X_p − Σ_{j≠i} X_j.
        var xLength = _classifier.InputLength;
        var recovered = new float[toInvert.Count * xLength];
        var item = 0;
        for (var n = 0; n < toInvert.Count; n++)
        {
            var k = requests[toInvert[n]].K;
            var destination = recovered.AsSpan(n * xLength, xLength);
            TensorPrimitives.Multiply(xs.AsSpan((item + k - 1) * xLength, xLength), (float)k, destination);
            for (var j = 0; j < k - 1; j++)
            {
                TensorPrimitives.Subtract(destination, xs.AsSpan((item + j) * xLength, xLength), destination);
            }

            item += k;
        }

        var logits = Output(await _classifier.RunAsync(recovered, toInvert.Count, cancellationToken).ConfigureAwait(false), _classifier, toInvert.Count);
        for (var n = 0; n < toInvert.Count; n++)
        {
            results[toInvert[n]] = logits.AsSpan(n * logitsLength, logitsLength).ToArray();
        }

        return results;
    }

    private static float[] Output(float[][] outputs, IModelFunction model, int count)
    {
        var expected = count * model.OutputLengths[0];
        if (outputs is not { Length: > 0 } || outputs[0] is null || outputs[0].Length != expected)
        {
            throw new InvalidOperationException($"Model '{model.Name}' returned {outputs?.FirstOrDefault()?.Length ?? 0} floats for {count} items; expected {expected} in output 0.");
        }

        return outputs[0];
    }
}
