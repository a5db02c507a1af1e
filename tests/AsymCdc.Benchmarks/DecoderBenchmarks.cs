using AsymCdc.Coding;
using BenchmarkDotNet.Attributes;

namespace AsymCdc.Benchmarks;

/// <summary>
/// Each decoder's own work for one straggler, with the model calls replaced by free pass-through
/// functions: what the decoder adds on top of the inference it triggers (exact: gather k z's,
/// X_i = k·X_p − Σ X_j; compact: stack k z's; ParM: subtraction; ApproxIFER: k multiply-adds).
/// </summary>
[MemoryDiagnoser]
public class DecoderBenchmarks
{
    private const int Length = 784;
    private const int Classes = 10;
    private DecodeRequest _request = null!;
    private IDecoder _exact = null!;
    private IDecoder _compact = null!;
    private readonly IDecoder _parm = new ParmDecoder();
    private readonly IDecoder _approxIfer = new ApproxIferDecoder();

    [Params(2, 3, 4)]
    public int K { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var data = new MemberAnswer?[K];
        for (var i = 1; i < K; i++)
        {
            data[i] = new MemberAnswer(Samples.Images(1, Classes, seed: i), Samples.Images(1, Length, seed: 100 + i));
        }

        _request = new DecodeRequest(K, 0, data, new MemberAnswer(Samples.Images(1, Classes, seed: 0), Samples.Images(1, Length, seed: 100)));
        _exact = new ExactDecoder(new PassThroughModel("classifier", Length, Classes), new PassThroughModel("inverse", Length, Length));
        _compact = new CompactDecoder(k => new PassThroughModel($"compact-k{k}", k * Length, Classes));
    }

    [Benchmark]
    public ValueTask<float[]> Exact() => _exact.DecodeAsync(_request);

    [Benchmark]
    public ValueTask<float[]> Compact() => _compact.DecodeAsync(_request);

    [Benchmark(Baseline = true)]
    public ValueTask<float[]> Parm() => _parm.DecodeAsync(_request);

    [Benchmark]
    public ValueTask<float[]> ApproxIfer() => _approxIfer.DecodeAsync(_request);

    /// <summary>A zero-cost "model": output 0 is the first floats of its input, repeated per item.</summary>
    private sealed class PassThroughModel(string name, int inputLength, int outputLength) : IModelFunction
    {
        private readonly int[] _outputLengths = [outputLength];

        public string Name { get; } = name;

        public int InputLength { get; } = inputLength;

        public IReadOnlyList<int> OutputLengths => _outputLengths;

        public ValueTask<float[][]> RunAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
        {
            var output = new float[count * outputLength];
            for (var n = 0; n < count; n++)
            {
                inputs.Span.Slice(n * InputLength, Math.Min(InputLength, outputLength)).CopyTo(output.AsSpan(n * outputLength));
            }

            return ValueTask.FromResult(new[] { output });
        }
    }
}
