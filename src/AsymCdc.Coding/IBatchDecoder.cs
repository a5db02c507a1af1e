namespace AsymCdc.Coding;

/// <summary>
/// A decoder that reconstructs many stragglers with one model call per graph instead of one per
/// request: the offline evaluator decodes every test query, and a decoder grain may coalesce
/// concurrent timeouts the same way.
/// </summary>
public interface IBatchDecoder : IDecoder
{
    /// <summary>Returns the reconstructed logits of each request, in request order. One model call per graph
    /// covers the whole list (the exact decoder's inverse call has Σ k items), so the caller keeps the list
    /// within the models' max batch size, as <see cref="Evaluation.DegradedModeEvaluator"/> does.</summary>
    ValueTask<float[][]> DecodeBatchAsync(IReadOnlyList<DecodeRequest> requests, CancellationToken cancellationToken = default);
}
