using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The AsymCDC encoder (DESIGN §2): X_p = (1/k')·Σ X_i over the k' members present. A mean keeps the
/// parity query in the value range of real inputs, so the deployed model itself can serve it. It runs
/// on every group, so it is a few SIMD adds and allocates nothing.
/// </summary>
public static class MeanEncoder
{
    /// <summary>Writes the mean of <paramref name="count"/> members of <paramref name="length"/> floats,
    /// laid out back to back in <paramref name="members"/>, into <paramref name="parity"/>.</summary>
    public static void Encode(ReadOnlySpan<float> members, int count, int length, Span<float> parity)
    {
        SumEncoder.Encode(members, count, length, parity);
        if (count > 1)
        {
            TensorPrimitives.Multiply(parity, 1f / count, parity);
        }
    }
}
