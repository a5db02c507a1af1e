using AsymCdc.Abstractions;

namespace AsymCdc.Client;

/// <summary>A typed client for the AsymCDC cluster: one call per prediction through the frontend grain.</summary>
/// <param name="client">A started Orleans client (see <see cref="AsymCdcClientBuilderExtensions"/>).</param>
/// <param name="defaultTimeout">The cluster's default deadline (<c>AsymCdc:Serving:RequestTimeout</c>, 5 s), used when a request names none.</param>
/// <param name="clientGrace">Time allowed beyond the deadline for the cluster's own answer or error to arrive (1 s).</param>
public sealed class AsymCdcClient(IClusterClient client, TimeSpan? defaultTimeout = null, TimeSpan? clientGrace = null)
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
        return await PredictAsync(new PredictionRequest(pixels, PredictionRequest.DefaultModel, mode, timeout), cancellationToken);
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

    /// <summary>
    /// The raw request, for callers that set the model name themselves. The call is bounded on the client side too:
    /// if the frontend silo dies with the call in flight, the cluster can no longer answer, so the client gives up at
    /// the request's deadline plus <see cref="ClientGrace"/> with a retryable
    /// <see cref="PredictionErrorCode.DeadlineExceeded"/> instead of waiting for Orleans' response timeout.
    /// </summary>
    public async Task<Prediction> PredictAsync(PredictionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The frontend is a stateless worker: one key suffices, it runs on whichever gateway silo the client calls.
        var frontend = client.GetGrain<IFrontendGrain>(0);
        var budget = (request.Timeout is { } t && t > TimeSpan.Zero ? t : DefaultTimeout) + ClientGrace;
        Task<Prediction> call;
        try
        {
            call = frontend.PredictAsync(request).AsTask();
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            throw Unavailable(e);
        }

        try
        {
            return await call.WaitAsync(budget, cancellationToken);
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            throw new PredictionException(PredictionErrorCode.DeadlineExceeded,
                $"no answer from the cluster within the request's deadline + {ClientGrace.TotalSeconds:0.#} s ({budget.TotalSeconds:0.###} s); the frontend silo may have died; the query may be retried");
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            throw Unavailable(e);
        }
    }

    public TimeSpan DefaultTimeout { get; } = defaultTimeout ?? TimeSpan.FromSeconds(5);

    public TimeSpan ClientGrace { get; } = clientGrace ?? TimeSpan.FromSeconds(1);
}
