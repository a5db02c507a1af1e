using AsymCdc.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AsymCdc.Gateway;

/// <summary>
/// The default readiness: ready when the frontend answers a real prediction (a blank image, mode
/// <c>none</c>) within <see cref="GatewayOptions.ReadinessProbeTimeout"/>. That proves the whole path the
/// gateway depends on (client, frontend, a worker with its model). The answer is reused for
/// <see cref="GatewayOptions.ReadinessCacheDuration"/> so frequent probes cost at most one prediction each.
/// </summary>
internal sealed partial class FrontendProbeReadiness(
    IGrainFactory grains,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<FrontendProbeReadiness> logger) : IGatewayReadiness
{
    private readonly GatewayOptions _options = options.Value;
    private readonly float[] _blankImage = new float[PredictionRequest.InputLength];
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
            var probe = new PredictionRequest(_blankImage, PredictionRequest.DefaultModel, ServingMode.None, _options.ReadinessProbeTimeout);
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

    private sealed record Answer(bool Ready, long Timestamp);

    [LoggerMessage(10, LogLevel.Information, "The cluster did not answer the readiness probe: {Reason}")]
    private static partial void LogProbeFailed(ILogger logger, string reason);
}
