namespace AsymCdc.Client;

/// <summary>
/// Tells an <see cref="AsymCdcClient"/> when the Orleans client loses a gateway connection. A call already written to
/// that connection will never be answered (the frontend silo behind it is gone), and Orleans would fail it only at its
/// response timeout; the client re-sends such calls through a live gateway instead (predictions are idempotent).
/// It also keeps the number of open gateway connections, which the client compares with the gateways the cluster lists to
/// tell when its calls no longer reach every frontend (<see cref="AsymCdcClient.RespreadPeriod"/>).
/// Registered by <see cref="AsymCdcClientBuilderExtensions"/>; Orleans notifies every
/// <see cref="IClusterConnectionStatusObserver"/> in the client's services.
/// </summary>
public sealed class GatewayLossSignal : IClusterConnectionStatusObserver
{
    private TaskCompletionSource _next = NewSignal();

    /// <summary>Completes at the next loss of a gateway connection after it was read.</summary>
    public Task NextLoss => Volatile.Read(ref _next).Task;

    /// <summary>Gateway connections lost since the client started.</summary>
    public long Losses => Interlocked.Read(ref _losses);

    /// <summary>Gateway connections open now, as the Orleans client last reported.</summary>
    public int Connected => Volatile.Read(ref _connected);

    private long _losses;
    private int _connected;

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        Volatile.Write(ref _connected, currentNumberOfGateways);
        if (currentNumberOfGateways < previousNumberOfGateways)
        {
            Signal();
        }
    }

    public void NotifyClusterConnectionLost()
    {
        Volatile.Write(ref _connected, 0);
        Signal();
    }

    private void Signal()
    {
        Interlocked.Increment(ref _losses);
        Interlocked.Exchange(ref _next, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
