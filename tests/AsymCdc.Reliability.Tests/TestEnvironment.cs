using AsymCdc.Inference;
using AsymCdc.Inference.Data;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AsymCdc.Reliability.Tests;

/// <summary>What the tests run against: the repository's <c>models/</c> unless <c>ASYMCDC_MODEL_REPOSITORY</c> names
/// another (e.g. a smoke-test repository), and the test set. The tests share a 2-core CI machine, so they run one at a
/// time (parallel clusters would only measure each other).</summary>
internal static class TestEnvironment
{
    public static string ModelRepository { get; } =
        Environment.GetEnvironmentVariable("ASYMCDC_MODEL_REPOSITORY") ?? ModelRepositoryLocator.Find();

    private static readonly Lazy<FashionMnistSet> s_testSet = new(() => FashionMnist.LoadTestSet());

    public static FashionMnistSet TestSet => s_testSet.Value;

    public static float[] Image(int index) => TestSet.Image(index).ToArray();

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!condition())
        {
            try
            {
                await poll.WaitForNextTickAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"timed out waiting until {what}");
            }
        }
    }
}
