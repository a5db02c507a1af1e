using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The ParM encoder (Kosaian et al.): X_p = Σ X_i. The learned parity model f_P is trained on these
/// sums, so that f_P(ΣX) ≈ Σ f(X_i) and a missing answer is recovered by subtraction.
/// </summary>
public static class SumEncoder
{
    /// <summary>Writes the sum of <paramref name="count"/> members of <paramref name="length"/> floats,
    /// laid out back to back in <paramref name="members"/>, into <paramref name="parity"/>.</summary>
    public static void Encode(ReadOnlySpan<float> members, int count, int length, Span<float> parity)
    {
        EncoderArguments.Validate(members, count, length, parity);
        members[..length].CopyTo(parity);
        for (var i = 1; i < count; i++)
        {
            TensorPrimitives.Add(parity, members.Slice(i * length, length), parity);
        }
    }
}
