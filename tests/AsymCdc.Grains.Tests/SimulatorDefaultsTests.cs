using AsymCdc.Grains;
using AsymCdc.Simulation;

namespace AsymCdc.Grains.Tests;

/// <summary>The simulator runs the product's policies with the product's defaults, so what it measures is what ships.</summary>
public sealed class SimulatorDefaultsTests
{
    [Fact]
    public void The_simulators_policy_defaults_are_the_serving_options_defaults()
    {
        var shipped = new ServingOptions();
        var simulated = new PolicyModel();

        Assert.Equal(shipped.Deadline, simulated.Deadline);
        Assert.Equal(shipped.TriggerQuantile, simulated.TriggerQuantile);
        Assert.Equal(shipped.TriggerFactor, simulated.TriggerFactor);
        Assert.Equal(shipped.SlowWorkerFactor, simulated.SlowWorkerFactor);
        Assert.Equal(shipped.HedgePercentile, simulated.HedgePercentile);
        Assert.Equal(shipped.GroupShards, simulated.Shards);
        Assert.Equal(shipped.GroupWindow.TotalMilliseconds, simulated.GroupWindowMs);
    }
}
