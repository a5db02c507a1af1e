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

    /// <summary>The <c>asymcdc</c> CLI's build output (the solution builds it; this project does not reference it): same
    /// configuration and framework as these tests, found by walking up to the repository's <c>src/</c>.</summary>
    public static string CliDll()
    {
        var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (tfm, configuration) = (own.Name, own.Parent?.Name ?? "Release");
        for (var dir = own; dir is not null; dir = dir.Parent)
        {
            var dll = Path.Combine(dir.FullName, "src", "AsymCdc.Cli", "bin", configuration, tfm, "asymcdc.dll");
            if (File.Exists(dll))
            {
                return dll;
            }
        }

        throw new FileNotFoundException($"asymcdc.dll ({configuration}, {tfm}) not found above {AppContext.BaseDirectory}; build the solution first: 'dotnet build AsymCdc.Orleans.sln -c {configuration}'");
    }

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
