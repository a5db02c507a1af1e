namespace AsymCdc.Simulation;

/// <summary>The CPU service-time model of <see cref="Scenarios.Cpu4Workers"/>: what a worker call costs on this machine's
/// shared cores, and the time on the caller's side around it. Placeholder log-normal quantiles (median 1.2 ms) until
/// <c>asymcdc simulate --fidelity</c> calibrates them from a real bench.</summary>
public static class CpuServiceTimes
{
    public const double OverheadMs = 0.3;

    public static readonly IReadOnlyList<double> Samples = [0.515, 0.599, 0.648, 0.685, 0.716, 0.744, 0.769, 0.791, 0.813, 0.833, 0.852, 0.871, 0.889, 0.906, 0.923, 0.939, 0.956, 0.972, 0.988, 1.003, 1.019, 1.035, 1.05, 1.066, 1.081, 1.097, 1.112, 1.128, 1.144, 1.16, 1.176, 1.192, 1.208, 1.225, 1.242, 1.259, 1.277, 1.295, 1.313, 1.332, 1.351, 1.371, 1.392, 1.413, 1.435, 1.458, 1.482, 1.507, 1.533, 1.56, 1.59, 1.621, 1.654, 1.69, 1.729, 1.772, 1.819, 1.873, 1.936, 2.01, 2.102, 2.223, 2.406, 2.797];
}
