namespace AsymCdc.Coding;

/// <summary>Builds the decoder of a <see cref="DecoderKind"/> from the models it needs.</summary>
public static class Decoders
{
    /// <param name="kind">Which reconstruction.</param>
    /// <param name="classifier">The deployed invertible classifier (exact; compact's fallback).</param>
    /// <param name="inverse">Its inverse graph (exact; compact's fallback).</param>
    /// <param name="compactForK">The compact model per k (compact).</param>
    /// <remarks>A compact decoder built with the classifier and its inverse falls back to the exact decoder
    /// for a group size without a compact model (see <see cref="CompactDecoder"/>).</remarks>
    public static IBatchDecoder Create(
        DecoderKind kind,
        IModelFunction? classifier = null,
        IModelFunction? inverse = null,
        Func<int, IModelFunction>? compactForK = null) => kind switch
        {
            DecoderKind.Exact => new ExactDecoder(
                classifier ?? throw Missing(kind, nameof(classifier)),
                inverse ?? throw Missing(kind, nameof(inverse))),
            DecoderKind.Compact => new CompactDecoder(
                compactForK ?? throw Missing(kind, nameof(compactForK)),
                classifier is not null && inverse is not null ? new ExactDecoder(classifier, inverse) : null),
            DecoderKind.Parm => new ParmDecoder(),
            DecoderKind.ApproxIfer => new ApproxIferDecoder(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Unknown decoder kind; expected one of {string.Join(", ", Enum.GetNames<DecoderKind>())}."),
        };

    /// <summary>The decoder's name in reports and on the command line: exact, compact, parm, approxifer.</summary>
    public static string NameOf(DecoderKind kind) => kind switch
    {
        DecoderKind.Exact => "exact",
        DecoderKind.Compact => "compact",
        DecoderKind.Parm => "parm",
        DecoderKind.ApproxIfer => "approxifer",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown decoder kind."),
    };

    private static ArgumentNullException Missing(DecoderKind kind, string model)
        => new(model, $"The {NameOf(kind)} decoder needs {model}.");
}
