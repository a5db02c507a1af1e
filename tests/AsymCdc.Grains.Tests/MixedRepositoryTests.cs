using AsymCdc.Abstractions;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>One test, in order: what the first calls to the old worker see depends on nothing having called it yet.</summary>
    [Fact]
    public async Task A_worker_without_the_new_model_fails_its_first_calls_retryably_and_is_then_passed_over_for_that_model()
    {
        // Without redundancy, concurrent calls reach the old worker before its first answer says it lacks the model. Sent
        // to the frontend grain itself: AsymCdcClient would send such a refusal (NotStarted) again through another slot.
        var frontend = fixture.Cluster.Client.GetGrain<IFrontendGrain>(0);
        var outcomes = await Task.WhenAll(Digits(30).Select(async input =>
        {
            try
            {
                await frontend.PredictAsync(new PredictionRequest(input, "digits-mlp", ServingMode.None)).AsTask().WaitAsync(Limit);
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
            Assert.True(e.NotStarted);
            Assert.Contains("does not load model 'digits-mlp'", e.Message);
        });

        // From then on the frontend sends digits-mlp to the workers that load it...
        var old = fixture.NameOf(fixture.WorkerSilos.Single(s => !s.ServiceProvider.GetRequiredService<IModelCatalog>().Contains("digits-mlp")).SiloAddress);
        foreach (var input in Digits(30))
        {
            var answer = await fixture.Client.PredictAsync("digits-mlp", input, ServingMode.None).WaitAsync(Limit);
            Assert.NotEqual(old, answer.Worker);
        }

        // ...every query of a redundant mode is answered (a group of k+1 = 3 still needs the old worker: its member is
        // hedged or rebuilt)...
        foreach (var mode in (ServingMode[])[ServingMode.Hedged, ServingMode.AsymCdcCompact])
        {
            var answers = await Task.WhenAll(Digits(60).Select(input => fixture.Client.PredictAsync("digits-mlp", input, mode).WaitAsync(Limit)));
            Assert.All(answers, p => Assert.Equal(10, p.Logits.Length));
        }

        // ...and the old worker still serves the model it has.
        var images = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            fixture.Client.PredictAsync(TestModels.Data.Image(i).ToArray(), ServingMode.None).WaitAsync(Limit)));
        Assert.Contains(images, p => p.Worker == old);
    }

    private IEnumerable<Tensor> Digits(int count)
    {
        var digits = TestSets.Load(TestSets.DigitsName, fixture.Models.Directory);
        return Enumerable.Range(0, count).Select(i => new Tensor(digits.Slice(i, 1).ToArray(), [1, 8, 8]));
    }
}
