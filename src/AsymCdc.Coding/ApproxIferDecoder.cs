using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The ApproxIFER decoder (Soleymani et al.): the missing output is Berrut's rational interpolant of
/// the k available outputs, evaluated at the missing member's node (<see cref="BerrutCode"/>). Model
/// agnostic: the parity worker ran the deployed model on the Berrut-encoded input.
/// </summary>
public sealed class ApproxIferDecoder : ArithmeticDecoder
{
    public override DecoderKind Kind => DecoderKind.ApproxIfer;

    protected override float[] Decode(DecodeRequest request)
    {
        // r(z_m) = Σ_r c_r·Y_r over the available answers: data members in group order, then the parity.
        var coefficients = BerrutCode.For(request.K).DecodeCoefficients(request.MissingIndex);
        var result = new float[request.Parity.Logits.Length];
        var r = 0;
        for (var j = 0; j < request.K; j++)
        {
            if (j != request.MissingIndex)
            {
                TensorPrimitives.MultiplyAdd(request.Data[j]!.Logits, coefficients[r++], result, result);
            }
        }

        TensorPrimitives.MultiplyAdd(request.Parity.Logits, coefficients[r], result, result);
        return result;
    }
}
