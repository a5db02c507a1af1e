using AsymCdc.Client;

namespace AsymCdc.Reliability.Tests;

/// <summary>The client's signal that a gateway connection was lost (calls out through it are then sent again).</summary>
public sealed class GatewayLossSignalTests
{
    [Fact]
    public void A_lost_gateway_completes_the_pending_signal_and_arms_a_new_one()
    {
        IClusterConnectionStatusObserver observer = new GatewayLossSignal();
        var signal = (GatewayLossSignal)observer;
        var before = signal.NextLoss;

        observer.NotifyGatewayCountChanged(currentNumberOfGateways: 1, previousNumberOfGateways: 2, connectionRecovered: false);

        Assert.True(before.IsCompletedSuccessfully);
        Assert.False(signal.NextLoss.IsCompleted);
        Assert.Equal(1, signal.Losses);
    }

    [Theory]
    [InlineData(1, 0, true)]  // first connection (or recovery)
    [InlineData(2, 1, false)] // another gateway connected
    [InlineData(2, 2, false)]
    public void More_or_as_many_gateways_is_no_loss(int current, int previous, bool recovered)
    {
        var signal = new GatewayLossSignal();
        var pending = signal.NextLoss;

        ((IClusterConnectionStatusObserver)signal).NotifyGatewayCountChanged(current, previous, recovered);

        Assert.False(pending.IsCompleted);
        Assert.Equal(0, signal.Losses);
    }

    [Fact]
    public void Losing_the_cluster_connection_is_a_loss()
    {
        var signal = new GatewayLossSignal();
        var pending = signal.NextLoss;

        ((IClusterConnectionStatusObserver)signal).NotifyClusterConnectionLost();

        Assert.True(pending.IsCompletedSuccessfully);
    }

    [Fact]
    public void Connected_follows_the_clients_reports_and_drops_to_zero_when_the_cluster_connection_is_lost()
    {
        var signal = new GatewayLossSignal();
        IClusterConnectionStatusObserver observer = signal;

        observer.NotifyGatewayCountChanged(1, 0, connectionRecovered: true);
        observer.NotifyGatewayCountChanged(2, 1, connectionRecovered: false);
        var both = signal.Connected;
        observer.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);
        var one = signal.Connected;
        observer.NotifyClusterConnectionLost();

        Assert.Equal(2, both);
        Assert.Equal(1, one);
        Assert.Equal(0, signal.Connected);
    }
}
