using AsymCdc.Coding;
using AsymCdc.Inference;
using BenchmarkDotNet.Attributes;

namespace AsymCdc.Benchmarks;

/// <summary>
/// The encoder next to the inference it protects: one real ONNX Runtime forward pass of the deployed
/// classifier (CPU, one item, no batching window) against one mean encode at k = 4, the DESIGN §4 target
/// "encoder &lt; 1% of one inference". The model repository comes from ASYMCDC_MODELS or the nearest
/// <c>models/</c> folder.
/// </summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    private const int Length = 784;
    private const int K = 4;
    private ModelRepository _repository = null!;
    private IModelFunction _classifier = null!;
    private float[] _members = [];
    private float[] _parity = [];

    [GlobalSetup]
    public void Setup()
    {
        _repository = ModelRepository.Open(new InferenceOptions
        {
            ModelRepository = Environment.GetEnvironmentVariable("ASYMCDC_MODELS") ?? ModelRepositoryLocator.Find(),
            Models = [ModelNames.Classifier],
            IntraOpThreads = 1,
            BatchWindowMicroseconds = 0,
        });
        _classifier = _repository.Get(ModelNames.Classifier);
        _members = Samples.Images(K, Length, seed: 1);
        _parity = new float[Length];
    }

    [GlobalCleanup]
    public void Cleanup() => _repository.Dispose();

    [Benchmark(Baseline = true)]
    public ValueTask<float[][]> ClassifierForward() => _classifier.RunAsync(_members.AsMemory(0, Length), 1);

    [Benchmark]
    public void MeanEncodeK4() => MeanEncoder.Encode(_members, K, Length, _parity);
}
