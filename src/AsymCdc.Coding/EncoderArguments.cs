namespace AsymCdc.Coding;

/// <summary>Argument checks shared by the parity encoders, so every encoder rejects bad input with the same words.</summary>
internal static class EncoderArguments
{
    public static void Validate(ReadOnlySpan<float> members, int count, int length, Span<float> parity)
    {
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "A parity group needs at least one member present; count must be >= 1.");
        }

        if (length < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "Each member needs at least one float; length must be >= 1.");
        }

        if (members.Length != (long)count * length)
        {
            throw new ArgumentException(
                $"members holds {members.Length} floats but count × length = {count} × {length} = {(long)count * length}; lay the {count} members back to back.",
                nameof(members));
        }

        if (parity.Length != length)
        {
            throw new ArgumentException($"parity holds {parity.Length} floats but each member has length {length}; pass a destination of exactly one member.", nameof(parity));
        }

        if (members.Overlaps(parity))
        {
            throw new ArgumentException("parity overlaps members; encode into a separate buffer.", nameof(parity));
        }
    }
}
