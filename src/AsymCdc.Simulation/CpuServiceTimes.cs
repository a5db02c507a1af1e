namespace AsymCdc.Simulation;

/// <summary>
/// The CPU model of <see cref="Scenarios.Cpu4Workers"/>, calibrated by <c>asymcdc simulate --fidelity</c> on the 2-core
/// development machine (2026-12-07, 2 runners per session): a worker call's time (100 quantiles of mode none's latency
/// at 70% load, less the caller's core time), of which <see cref="CoreMs"/> holds one of the 2 shared cores, and <see cref="CallerCpuMs"/> of
/// core time per query on the caller's side. Capacities measured: 3017 queries/s in mode none,
/// 2195 in replication.
/// </summary>
public static class CpuServiceTimes
{
    public const double CoreMs = 0.2484;

    public const double CallerCpuMs = 0.4144;

    public static readonly IReadOnlyList<double> Samples = [0.248, 0.248, 0.383, 0.543, 0.685, 0.805, 0.918, 1.007, 1.101, 1.187, 1.262, 1.353, 1.423, 1.484, 1.552, 1.623, 1.684, 1.768, 1.818, 1.884, 1.948, 2.006, 2.053, 2.115, 2.158, 2.222, 2.279, 2.342, 2.393, 2.442, 2.492, 2.539, 2.578, 2.627, 2.673, 2.716, 2.763, 2.808, 2.849, 2.894, 2.942, 2.99, 3.03, 3.076, 3.121, 3.165, 3.201, 3.251, 3.297, 3.343, 3.4, 3.442, 3.475, 3.526, 3.578, 3.631, 3.691, 3.738, 3.793, 3.835, 3.884, 3.927, 3.971, 4.024, 4.086, 4.138, 4.2, 4.258, 4.325, 4.391, 4.456, 4.515, 4.587, 4.68, 4.754, 4.828, 4.92, 5.018, 5.11, 5.201, 5.312, 5.422, 5.561, 5.718, 5.869, 6.019, 6.263, 6.514, 6.74, 7.061, 7.477, 7.81, 8.084, 8.467, 8.861, 9.39, 9.845, 10.612, 12.123, 21.367];
}
