namespace AsymCdc.Coding;

/// <summary>Which reconstruction a decoder performs (DESIGN §3, "Modes").</summary>
public enum DecoderKind
{
    /// <summary>AsymCDC exact: invert z's, X_i = k·X_p − Σ_{j≠i} X_j, forward.</summary>
    Exact,
    /// <summary>AsymCDC compact: a distilled network on the stacked feature maps.</summary>
    Compact,
    /// <summary>ParM: Y_i = f_P(ΣX) − Σ_{j≠i} Y_j.</summary>
    Parm,
    /// <summary>ApproxIFER: Berrut rational interpolation of the available outputs.</summary>
    ApproxIfer,
}

/// <summary>One worker's answer for one member (data or parity) of a coded group.</summary>
/// <param name="Logits">10 logits.</param>
/// <param name="Features">The invertible feature map z (784 floats) where the worker ran the
/// deployed invertible model; null for the parity model of ParM.</param>
public sealed record MemberAnswer(float[] Logits, float[]? Features);

/// <summary>
/// What a decoder gets: a group of <see cref="K"/> data members (k' ≤ k for a partial group,
/// the encoder having run over the members present), all answers but the missing one, and the
/// parity answer.
/// </summary>
/// <param name="K">Data members in the group (the k the parity was encoded over).</param>
/// <param name="MissingIndex">The data member to reconstruct, 0 ≤ i &lt; K.</param>
/// <param name="Data">K entries; entry <paramref name="MissingIndex"/> is null, the others are present.</param>
/// <param name="Parity">The parity member's answer.</param>
public sealed record DecodeRequest(int K, int MissingIndex, IReadOnlyList<MemberAnswer?> Data, MemberAnswer Parity);

/// <summary>Reconstructs a straggler's logits from the other k answers of its group.</summary>
public interface IDecoder
{
    DecoderKind Kind { get; }

    /// <summary>Returns the reconstructed 10 logits of <see cref="DecodeRequest.MissingIndex"/>.</summary>
    ValueTask<float[]> DecodeAsync(DecodeRequest request, CancellationToken cancellationToken = default);
}
