namespace AsymCdc.Coding;

/// <summary>
/// The ApproxIFER encoder with the same shape as <see cref="MeanEncoder"/>: the parity input is the
/// Berrut interpolant of the k' members present, evaluated at the parity node of <see cref="BerrutCode.For"/>(k').
/// </summary>
public static class BerrutEncoder
{
    public static void Encode(ReadOnlySpan<float> members, int count, int length, Span<float> parity)
    {
        EncoderArguments.Validate(members, count, length, parity);
        BerrutCode.For(count).Encode(members, length, parity);
    }
}
