using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The ParM baseline decoder (Kosaian et al., SOSP'19): the parity worker answered f_P(Σ X), trained so
/// that f_P(Σ X) ≈ Σ f(X_i); a missing answer is Y_i ≈ Y_p − Σ_{j≠i} Y_j.
/// </summary>
public sealed class ParmDecoder : ArithmeticDecoder
{
    public override DecoderKind Kind => DecoderKind.Parm;

    protected override float[] Decode(DecodeRequest request)
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
