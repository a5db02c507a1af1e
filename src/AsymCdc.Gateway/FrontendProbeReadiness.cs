using AsymCdc.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AsymCdc.Gateway;

/// <summary>
/// The default readiness: ready when the frontend answers a real prediction (a blank input of the catalogue's first
/// model, mode <c>none</c>) within <see cref="GatewayOptions.ReadinessProbeTimeout"/>. That proves the whole path the
/// gateway depends on (client, frontend, a worker with its model). The answer is reused for
/// <see cref="GatewayOptions.ReadinessCacheDuration"/> so frequent probes cost at most one prediction each.
/// </summary>
internal sealed partial class FrontendProbeReadiness(
    IGrainFactory grains,
    IServedModelCatalog catalog,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<FrontendProbeReadiness> logger) : IGatewayReadiness
{
    private readonly GatewayOptions _options = options.Value;
    private readonly (ServedModel Model, float[] Blank) _probe = Probe(catalog.Models[0]);
    private volatile Answer? _last;

    public async ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_last is { } last && time.GetElapsedTime(last.Timestamp, now) < _options.ReadinessCacheDuration)
        {
            return last.Ready;
        }

        bool ready;
        try
        {
            var (model, blank) = _probe;
            var probe = new PredictionRequest(new Tensor(blank, model.Input.TensorShape), model.ClusterModelName, ServingMode.None, _options.ReadinessProbeTimeout);
            await grains.GetGrain<IFrontendGrain>(0).PredictAsync(probe).AsTask()
                .WaitAsync(_options.ReadinessProbeTimeout, time, cancellationToken);
            ready = true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogProbeFailed(logger, e.Message);
            ready = false;
        }

        _last = new Answer(ready, now);
        return ready;
    }

    /// <summary>The model probed and its input: zeros, clamped into the input's range.</summary>
    private static (ServedModel, float[]) Probe(ServedModel model)
    {
        var blank = new float[model.Input.ItemLength];
        Array.Fill(blank, Math.Clamp(0f, model.Input.Min, model.Input.Max));
        return (model, blank);
    }

    private sealed record Answer(bool Ready, long Timestamp);

    [LoggerMessage(10, LogLevel.Information, "The cluster did not answer the readiness probe: {Reason}")]
    private static partial void LogProbeFailed(ILogger logger, string reason);
}
