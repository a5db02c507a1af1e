using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The ParM baseline decoder (Kosaian et al., SOSP'19): the parity worker answered f_P(Σ X), trained so
/// that f_P(Σ X) ≈ Σ f(X_i); a missing answer is Y_i ≈ Y_p − Σ_{j≠i} Y_j.
/// </summary>
public sealed class ParmDecoder : IBatchDecoder
{
    public DecoderKind Kind => DecoderKind.Parm;

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

    private static float[] Decode(DecodeRequest request)
    {
        var result = (float[])request.Parity.Logits.Clone();
        for (var j = 0; j < request.K; j++)
        {
            if (j != request.MissingIndex)
            {
                TensorPrimitives.Subtract(result, request.Data[j]!.Logits, result);
            }
        }

        return result;
    }
}
