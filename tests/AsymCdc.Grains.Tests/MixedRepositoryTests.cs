using AsymCdc.Abstractions;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Grains.Tests;

/// <summary>A rollout that adds a model, half done: one of three workers still loads the old repository (Fashion-MNIST
/// only), the frontend and the other workers the new one (with digits-mlp and its decoder).</summary>
public sealed class MixedRepositoryClusterFixture : ServingClusterFixture
{
    private ModelRepository? _old;

    protected override int Workers => 3;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:20",
        // Every worker keeps its share: the slow-worker rule must not decide which worker the queries reach.
        ["AsymCdc:Serving:SlowWorkerFactor"] = "0",
    };

    /// <summary>The last worker, not yet restarted onto the new repository.</summary>
    protected override ModelRepository RepositoryOf(int instance) =>
        instance == Frontends + Workers - 1 ? _old ??= OpenOld() : Models;

    private static ModelRepository OpenOld() => ModelRepository.Open(new InferenceOptions
    {
        ModelRepository = TestModels.Directory,
        Models = ["fmnist-inn", "fmnist-inn-inverse", "fmnist-compact-k2", "fmnist-parm-k2"],
    });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _old?.Dispose();
    }
}

public sealed class MixedRepositoryTests(MixedRepositoryClusterFixture fixture) : IClassFixture<MixedRepositoryClusterFixture>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(ServingMode.Hedged)]
    [InlineData(ServingMode.AsymCdcCompact)]
    public async Task A_worker_without_the_new_model_costs_no_answer_in_a_redundant_mode(ServingMode mode)
    {
        var predictions = await Task.WhenAll(Digits(60).Select(input => fixture.Client.PredictAsync("digits-mlp", input, mode).WaitAsync(Limit)));

        Assert.All(predictions, p => Assert.Equal(10, p.Logits.Length));
        // Calls reached the old worker and were answered another way: a hedge or a reconstruction.
        Assert.Contains(predictions, p => p.ServedBy is ServedBy.Hedge || p.ServedBy.IsReconstruction());
    }

    [Fact]
    public async Task Without_redundancy_the_call_to_that_worker_fails_retryably_naming_it()
    {
        var outcomes = await Task.WhenAll(Digits(30).Select(async input =>
        {
            try
            {
                await fixture.Client.PredictAsync("digits-mlp", input, ServingMode.None).WaitAsync(Limit);
                return null;
            }
            catch (PredictionException e)
            {
                return e;
            }
        }));

        var failed = outcomes.OfType<PredictionException>().ToList();
        Assert.NotEmpty(failed);
        Assert.True(failed.Count < outcomes.Length, "the workers with the new repository answered the rest");
        Assert.All(failed, e =>
        {
            Assert.Equal(PredictionErrorCode.Unavailable, e.Code);
            Assert.True(e.IsRetryable);
            Assert.Contains("does not load model 'digits-mlp'", e.Message);
        });
    }

    private IEnumerable<Tensor> Digits(int count)
    {
        var digits = TestSets.Load(TestSets.DigitsName, fixture.Models.Directory);
        return Enumerable.Range(0, count).Select(i => new Tensor(digits.Slice(i, 1).ToArray(), [1, 8, 8]));
    }
}
