namespace AsymCdc.Simulation;

/// <summary>The named scenarios of <c>asymcdc simulate --scenario NAME</c>.</summary>
public static class Scenarios
{
    private static readonly double[] s_loadSweep = [0.3, 0.5, 0.7, 0.9];

    /// <summary>The bench's cluster on this 2-core machine: 4 CPU workers sharing 2 cores, k = 2, 5% stragglers 20
    /// median service times late, a fixed straggler deadline of 3 medians, the product's group window (5 ms) and shards
    /// (2), as the bench runs them. The service times are those the fidelity run measured here (<see cref="CpuServiceTimes"/>).</summary>
    public static SimulationConfig Cpu4Workers => new()
    {
        Name = "cpu-4-workers",
        Description = "the bench's cluster: 4 CPU workers on 2 shared cores, k = 2, 5% stragglers at 20x the median",
        Workers = 4,
        Queries = 20_000,
        Loads = s_loadSweep,
        Service = new ServiceModel
        {
            Kind = "empirical", SamplesMs = CpuServiceTimes.Samples, SharedCores = 2, CoreMs = CpuServiceTimes.CoreMs, CallerCpuMs = CpuServiceTimes.CallerCpuMs,
        },
        Faults = new FaultModel { StragglerRate = 0.05, StragglerDelayMedians = 20 },
        Policy = new PolicyModel { StragglerDeadlineMedians = 3 },
    };

    public static SimulationConfig Gpu100Stragglers1Pct => Gpu("gpu-100-stragglers-1pct",
        "100 H100 workers, 1% of calls 20x the median late", 100, 200_000, new FaultModel { StragglerRate = 0.01, StragglerDelayMedians = 20 });

    public static SimulationConfig Gpu100Stragglers5Pct => Gpu("gpu-100-stragglers-5pct",
        "100 H100 workers, 5% of calls 20x the median late", 100, 200_000, new FaultModel { StragglerRate = 0.05, StragglerDelayMedians = 20 });

    public static SimulationConfig Gpu100SlowNode => Gpu("gpu-100-slow-node",
        "100 H100 workers, one of them 10x slower for 10 s of every minute", 100, 3_000_000,
        new FaultModel { SlowNodes = 1, SlowFactor = 10, SlowSeconds = 10, SlowPeriodSeconds = 60 }) with { Loads = [0.7] };

    public static SimulationConfig Gpu1000NodeDeath => Gpu("gpu-1000-node-death",
        "1,000 H100 workers, 10 die at 30% of the run (detected after 500 ms, replaced after 10 s), 1% stragglers", 1000, 1_000_000,
        new FaultModel { StragglerRate = 0.01, StragglerDelayMedians = 20, Deaths = 10, DeathAtFraction = 0.3, DetectionMs = 500, ReplaceSeconds = 10 })
        with { Loads = [0.7] };

    public static IReadOnlyList<SimulationConfig> All =>
        [Cpu4Workers, Gpu100Stragglers1Pct, Gpu100Stragglers5Pct, Gpu100SlowNode, Gpu1000NodeDeath];

    public static SimulationConfig? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>GPU workers (docs/GPU.md's H100 batch times; each worker batches what has queued, up to 64), k = 2,
    /// the straggler deadline at 3 median service times, a 5 ms group window, two shards (the product's defaults).</summary>
    private static SimulationConfig Gpu(string name, string description, int workers, int queries, FaultModel faults) => new()
    {
        Name = name,
        Description = description,
        Workers = workers,
        Queries = queries,
        Loads = s_loadSweep,
        Service = new ServiceModel { Kind = "gpu", MaxBatch = 64 },
        Faults = faults,
        Policy = new PolicyModel { StragglerDeadlineMedians = 3, GroupWindowMs = 5, Shards = 2 },
    };
}
