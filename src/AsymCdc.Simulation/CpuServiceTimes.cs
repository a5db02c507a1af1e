namespace AsymCdc.Simulation;

/// <summary>
/// The CPU model of <see cref="Scenarios.Cpu4Workers"/>, calibrated by <c>asymcdc simulate --fidelity</c> on the 2-core
/// development machine (2026-12-06): a worker call's time (100 quantiles of mode none's latency at 70% load, less the
/// caller's core time), of which <see cref="CoreMs"/> holds one of the 2 shared cores, and <see cref="CallerCpuMs"/> of
/// core time per query on the caller's side. Capacities measured: 2488 queries/s in mode none,
/// 1566 in replication.
/// </summary>
public static class CpuServiceTimes
{
    public const double CoreMs = 0.4731;

    public const double CallerCpuMs = 0.3307;

    public static readonly IReadOnlyList<double> Samples = [0.473, 0.473, 0.647, 0.829, 0.95, 1.028, 1.141, 1.251, 1.328, 1.42, 1.493, 1.561, 1.622, 1.682, 1.75, 1.809, 1.873, 1.936, 2.008, 2.061, 2.12, 2.179, 2.238, 2.296, 2.365, 2.421, 2.482, 2.531, 2.582, 2.624, 2.673, 2.719, 2.757, 2.803, 2.847, 2.898, 2.942, 2.981, 3.027, 3.069, 3.116, 3.167, 3.211, 3.27, 3.307, 3.353, 3.396, 3.443, 3.482, 3.52, 3.552, 3.599, 3.64, 3.7, 3.738, 3.781, 3.839, 3.89, 3.934, 3.984, 4.045, 4.094, 4.14, 4.179, 4.222, 4.277, 4.32, 4.375, 4.441, 4.497, 4.572, 4.643, 4.711, 4.766, 4.853, 4.925, 4.998, 5.075, 5.151, 5.204, 5.297, 5.386, 5.476, 5.587, 5.696, 5.827, 5.99, 6.142, 6.312, 6.54, 6.769, 6.977, 7.277, 7.655, 8.055, 8.533, 9.117, 9.651, 10.581, 17.931];
}
