using System.Diagnostics;
using AsymCdc.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Client;

/// <summary>A typed client for the AsymCDC cluster: one call per prediction through the frontend grain.</summary>
/// <param name="client">A started Orleans client (see <see cref="AsymCdcClientBuilderExtensions"/>).</param>
/// <param name="defaultTimeout">The cluster's default deadline (<c>AsymCdc:Serving:RequestTimeout</c>, 5 s), used when a request names none.</param>
/// <param name="clientGrace">Time allowed beyond the deadline for the cluster's own answer or error to arrive (1 s).</param>
public sealed class AsymCdcClient(IClusterClient client, TimeSpan? defaultTimeout = null, TimeSpan? clientGrace = null)
{
    /// <summary>
    /// Frontend grain keys the calls rotate over. The Orleans client sends every call to one grain through the gateway
    /// it first picked for that grain (its messages are routed by grain id), so with a single key one frontend silo
    /// would take all of a client's load and the others would stay idle, and cold, until it died. Each key is routed on
    /// its own, so the calls spread over the live gateways. The frontend is a stateless worker: any key is served by
    /// whichever frontend silo the call enters.
    /// </summary>
    public const int FrontendKeys = 64;

    private readonly GatewayLossSignal? _gatewayLosses = client.ServiceProvider.GetService<GatewayLossSignal>();
    private readonly IFrontendGrain?[] _frontends = new IFrontendGrain?[FrontendKeys];
    private long _resent;
    private uint _nextFrontend;

    /// <summary>Calls sent a second time because a gateway connection was lost while they were out (see
    /// <see cref="GatewayLossSignal"/>).</summary>
    public long Resent => Interlocked.Read(ref _resent);

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
    /// <see cref="PredictionErrorCode.DeadlineExceeded"/> instead of waiting for Orleans' response timeout. Before that,
    /// if a gateway connection is lost while the call is out, the call is sent again through a live gateway and the
    /// first answer wins (<see cref="GatewayLossSignal"/>; counted in <see cref="Resent"/>).
    /// </summary>
    public async Task<Prediction> PredictAsync(PredictionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var frontend = NextFrontend();
        var started = Stopwatch.GetTimestamp();
        var timeout = request.Timeout is { } t && t > TimeSpan.Zero ? t : DefaultTimeout;
        var budget = timeout + ClientGrace;
        // Read before the call goes out: a gateway lost from now on may have taken it.
        var gatewayLost = _gatewayLosses?.NextLoss;
        Task<Prediction> call;
        try
        {
            call = frontend.PredictAsync(request).AsTask();
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            throw Unavailable(e);
        }

        if (gatewayLost is not null)
        {
            call = ResendOnGatewayLossAsync(call, gatewayLost, frontend, request, timeout, started);
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

    /// <summary>The next of <see cref="FrontendKeys"/> frontend references, round-robin; each is made once (Orleans'
    /// <c>GetGrain</c> reflects over the interface on every call).</summary>
    private IFrontendGrain NextFrontend()
    {
        var key = (int)(Interlocked.Increment(ref _nextFrontend) % FrontendKeys);
        return _frontends[key] ??= client.GetGrain<IFrontendGrain>(key);
    }

    /// <summary>
    /// If a gateway connection is lost while <paramref name="call"/> is out, the call may have gone through it and will
    /// then never be answered: it is sent again, with what is left of its deadline, through a live gateway, and the first
    /// answer of the two wins (a prediction is idempotent; at worst a query that was not lost is served twice).
    /// </summary>
    private async Task<Prediction> ResendOnGatewayLossAsync(Task<Prediction> call, Task gatewayLost, IFrontendGrain frontend,
        PredictionRequest request, TimeSpan timeout, long started)
    {
        if (await Task.WhenAny(call, gatewayLost) == call)
        {
            return await call;
        }

        var left = timeout - Stopwatch.GetElapsedTime(started);
        if (left <= TimeSpan.Zero)
        {
            return await call;
        }

        Interlocked.Increment(ref _resent);
        Task<Prediction> again;
        try
        {
            again = frontend.PredictAsync(request with { Timeout = left }).AsTask();
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            return await call;
        }

        var first = await Task.WhenAny(call, again);
        var second = first == call ? again : call;
        if (first.IsCompletedSuccessfully)
        {
            _ = second.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return first.Result;
        }

        _ = first.Exception;
        return await second;
    }

    public TimeSpan DefaultTimeout { get; } = defaultTimeout ?? TimeSpan.FromSeconds(5);

    public TimeSpan ClientGrace { get; } = clientGrace ?? TimeSpan.FromSeconds(1);
}
