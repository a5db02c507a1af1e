namespace AsymCdc.Gateway;

/// <summary>Whether the cluster behind the gateway answers, for <c>/v2/health/ready</c> and
/// <c>/v2/models/{model}/ready</c>. The host may register its own (e.g. "silo joined and models loaded");
/// otherwise the gateway sends a probe prediction to the frontend.</summary>
public interface IGatewayReadiness
{
    ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>Adapts a host-provided delegate to <see cref="IGatewayReadiness"/>.</summary>
public sealed class DelegateGatewayReadiness(Func<CancellationToken, ValueTask<bool>> isReady) : IGatewayReadiness
{
    private readonly Func<CancellationToken, ValueTask<bool>> _isReady = isReady ?? throw new ArgumentNullException(nameof(isReady));

    public ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken) => _isReady(cancellationToken);
}
