using AsymCdc.Abstractions;

namespace AsymCdc.Client;

/// <summary>A typed client for the AsymCDC cluster: one call per prediction through the frontend grain.</summary>
public sealed class AsymCdcClient(IClusterClient client)
{
    /// <summary>
    /// Predicts one Fashion-MNIST image (784 pixels in [0, 1]). Throws <see cref="PredictionException"/> with a code that
    /// says whether a retry may help; <paramref name="cancellationToken"/> stops waiting (the cluster still bounds the
    /// query by its deadline).
    /// </summary>
    public async Task<Prediction> PredictAsync(float[] pixels, ServingMode? mode = null, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        // The frontend is a stateless worker: one key suffices, it runs on whichever gateway silo the client calls.
        var frontend = client.GetGrain<IFrontendGrain>(0);
        try
        {
            return await frontend.PredictAsync(new PredictionRequest(pixels, PredictionRequest.DefaultModel, mode, timeout))
                .AsTask().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// The Orleans client's own failures: the gateway died or refused the call before it reached a frontend grain
    /// (rejection, connection failure), or it died with the call in flight and the client's response timeout fired.
    /// Predictions are idempotent, so each is a retryable <see cref="PredictionErrorCode.Unavailable"/>.
    /// </summary>
    public static bool IsTransportFailure(Exception e) =>
        e is OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException;

    private static PredictionException Unavailable(Exception e) => new(PredictionErrorCode.Unavailable,
        $"the frontend silo serving this call became unavailable ({e.GetType().Name}: {e.Message}); the query may be retried, another gateway will serve it", e);

    /// <summary>The raw request, for callers that set the model name themselves.</summary>
    public Task<Prediction> PredictAsync(PredictionRequest request, CancellationToken cancellationToken = default) =>
        client.GetGrain<IFrontendGrain>(0).PredictAsync(request).AsTask().WaitAsync(cancellationToken);
}
