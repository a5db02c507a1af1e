using AsymCdc.Coding;
using BenchmarkDotNet.Attributes;

namespace AsymCdc.Benchmarks;

/// <summary>The encoders on one group of k Fashion-MNIST-sized inputs (784 floats): the per-group cost on
/// the serving hot path, which must be zero-allocation and well under 1% of one inference.</summary>
[MemoryDiagnoser]
public class EncoderBenchmarks
{
    private const int Length = 784;
    private float[] _members = [];
    private float[] _parity = [];

    [Params(2, 3, 4)]
    public int K { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _members = Samples.Images(K, Length, seed: K);
        _parity = new float[Length];
    }

    [Benchmark(Baseline = true)]
    public void Mean() => MeanEncoder.Encode(_members, K, Length, _parity);

    [Benchmark]
    public void Sum() => SumEncoder.Encode(_members, K, Length, _parity);

    [Benchmark]
    public void Berrut() => BerrutEncoder.Encode(_members, K, Length, _parity);
}
