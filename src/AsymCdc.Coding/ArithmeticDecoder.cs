namespace AsymCdc.Coding;

/// <summary>
/// A decoder that needs no model: it combines the k available logits (ParM's subtraction, ApproxIFER's
/// interpolation), so a batch is just each request in turn, synchronously.
/// </summary>
public abstract class ArithmeticDecoder : IBatchDecoder
{
    public abstract DecoderKind Kind { get; }

    public ValueTask<float[]> DecodeAsync(DecodeRequest request, CancellationToken cancellationToken = default)
    {
        DecodeRequestValidation.Validate(request, Kind, logitsLength: null, needsFeatures: false);
        return ValueTask.FromResult(Decode(request));
    }

    public ValueTask<float[][]> DecodeBatchAsync(IReadOnlyList<DecodeRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new float[requests.Count][];
        for (var r = 0; r < requests.Count; r++)
        {
            DecodeRequestValidation.Validate(requests[r], Kind, logitsLength: null, needsFeatures: false);
            results[r] = Decode(requests[r]);
        }

        return ValueTask.FromResult(results);
    }

    /// <summary>Reconstructs the missing member's logits from a validated request.</summary>
    protected abstract float[] Decode(DecodeRequest request);
}
