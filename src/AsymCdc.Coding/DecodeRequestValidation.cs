namespace AsymCdc.Coding;

/// <summary>Checks a <see cref="DecodeRequest"/> before any arithmetic, so a malformed group fails with a
/// message naming the member and the length at fault instead of an IndexOutOfRangeException.</summary>
internal static class DecodeRequestValidation
{
    /// <param name="logitsLength">Expected logits length, or null to take the parity's.</param>
    /// <param name="needsFeatures">Whether the decoder reads the workers' feature maps z.</param>
    /// <param name="featureLength">Expected z length, or null to take the parity's.</param>
    public static void Validate(DecodeRequest request, DecoderKind kind, int? logitsLength, bool needsFeatures, int? featureLength = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K < 1)
        {
            throw new ArgumentException($"{kind} decode: K = {request.K}, but a parity group has at least one data member.", nameof(request));
        }

        if (request.Data is null || request.Data.Count != request.K)
        {
            throw new ArgumentException($"{kind} decode: Data has {request.Data?.Count ?? 0} entries but K = {request.K}; pass one entry per data member, null for the missing one.", nameof(request));
        }

        if ((uint)request.MissingIndex >= (uint)request.K)
        {
            throw new ArgumentException($"{kind} decode: MissingIndex = {request.MissingIndex} is outside the group's members 0..{request.K - 1}.", nameof(request));
        }

        if (request.Parity is null)
        {
            throw new ArgumentException($"{kind} decode: the parity answer is null; a decoder needs the parity and the k-1 other data answers.", nameof(request));
        }

        // Structure first (which answers are present), then lengths, so the message names the first real problem.
        for (var i = 0; i < request.K; i++)
        {
            var member = request.Data[i];
            if (i == request.MissingIndex && member is not null)
            {
                throw new ArgumentException($"{kind} decode: member {i} is the missing one but its answer is present; exactly one data answer (Data[MissingIndex]) must be null.", nameof(request));
            }

            if (i != request.MissingIndex && member is null)
            {
                throw new ArgumentException($"{kind} decode: member {i} is null but only member {request.MissingIndex} may be missing; one parity tolerates exactly one straggler.", nameof(request));
            }
        }

        var expectedLogits = logitsLength ?? request.Parity.Logits?.Length ?? 0;
        CheckLogits(request.Parity, "the parity", kind, expectedLogits);
        for (var i = 0; i < request.K; i++)
        {
            if (i != request.MissingIndex)
            {
                CheckLogits(request.Data[i]!, $"member {i}", kind, expectedLogits);
            }
        }

        if (!needsFeatures)
        {
            return;
        }

        var expectedFeatures = featureLength ?? request.Parity.Features?.Length ?? 0;
        if (expectedFeatures == 0)
        {
            throw new ArgumentException($"{kind} decode: the parity has no feature map; the {kind} decoder needs every worker's z.", nameof(request));
        }

        CheckFeatures(request.Parity, "the parity", kind, expectedFeatures);
        for (var i = 0; i < request.K; i++)
        {
            if (i != request.MissingIndex)
            {
                CheckFeatures(request.Data[i]!, $"member {i}", kind, expectedFeatures);
            }
        }
    }

    private static void CheckLogits(MemberAnswer member, string who, DecoderKind kind, int logitsLength)
    {
        if (member.Logits is null || member.Logits.Length == 0 || member.Logits.Length != logitsLength)
        {
            throw new ArgumentException($"{kind} decode: {who} has {member.Logits?.Length ?? 0} logits, expected {logitsLength}.", "request");
        }
    }

    private static void CheckFeatures(MemberAnswer member, string who, DecoderKind kind, int length)
    {
        if (member.Features is null || member.Features.Length != length)
        {
            throw new ArgumentException(
                $"{kind} decode: {who} has {(member.Features is null ? "no feature map" : $"a feature map of {member.Features.Length} floats")}, expected {length}; the {kind} decoder needs every worker's z.",
                "request");
        }
    }
}
