using AsymCdc.Cli.Bench;
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

    [Fact]
    public void The_bench_and_its_simulated_twin_group_queries_as_the_silos_ship()
    {
        var shipped = new ServingOptions();
        var bench = BenchOptions.Quick();
        var twin = Scenarios.Cpu4Workers.Policy;

        Assert.Equal(shipped.GroupWindow, bench.GroupWindow);
        Assert.Equal(shipped.GroupShards, bench.GroupShards);
        Assert.Equal(shipped.GroupWindow.TotalMilliseconds, twin.GroupWindowMs);
        Assert.Equal(shipped.GroupShards, twin.Shards);
    }
}
