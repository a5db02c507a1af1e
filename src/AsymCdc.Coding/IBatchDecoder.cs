namespace AsymCdc.Coding;

/// <summary>
/// A decoder that reconstructs many stragglers with one model call per graph instead of one per
/// request: the offline evaluator decodes every test query, and a decoder grain may coalesce
/// concurrent timeouts the same way.
/// </summary>
public interface IBatchDecoder : IDecoder
{
    /// <summary>Returns the reconstructed logits of each request, in request order.</summary>
    ValueTask<float[][]> DecodeBatchAsync(IReadOnlyList<DecodeRequest> requests, CancellationToken cancellationToken = default);
}
