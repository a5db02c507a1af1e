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
        return await frontend.PredictAsync(new PredictionRequest(pixels, PredictionRequest.DefaultModel, mode, timeout))
            .AsTask().WaitAsync(cancellationToken);
    }

    /// <summary>The raw request, for callers that set the model name themselves.</summary>
    public Task<Prediction> PredictAsync(PredictionRequest request, CancellationToken cancellationToken = default) =>
        client.GetGrain<IFrontendGrain>(0).PredictAsync(request).AsTask().WaitAsync(cancellationToken);
}
