using AsymCdc.Abstractions;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace AsymCdc.Grains.Tests;

/// <summary>Two frontend silos (the primary is the only gateway) and four workers; no injected stragglers: the failures
/// are real silo deaths.</summary>
public sealed class FailureClusterFixture : ServingClusterFixture
{
    protected override int Frontends => 2;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:GroupShards"] = "2",
        ["AsymCdc:Serving:StragglerDeadline"] = "00:00:00.200",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:10",
        ["AsymCdc:Serving:GroupWindow"] = "00:00:00.010",
    };
}

/// <summary>Kills silos in the middle of a load. Every call must end in a prediction or a clear
/// <see cref="PredictionException"/> within its deadline (none hangs, none is lost), and the cluster serves again after.</summary>
public sealed class SiloFailureTests(FailureClusterFixture fixture) : IClassFixture<FailureClusterFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LostAfter = Timeout + TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Killing_a_worker_and_then_the_silo_of_a_parity_group_mid_load_loses_no_query()
    {
        // 1. A worker dies: its members are decoded from the rest of their groups.
        var worker = fixture.WorkerSilos[^1];
        var outcomes = await LoadWithKillAsync(ServingMode.AsymCdcExact, 160, killAfter: 40, worker);
        AssertNoneLost(outcomes);
        await fixture.WaitForWorkersAsync(3);
        await AssertServesAsync(ServingMode.AsymCdcExact);

        // 2. The frontend silo hosting a parity-group shard dies: the entry frontend retries on the other shard.
        var primary = fixture.Primary;
        var secondary = fixture.FrontendSilos.Single(s => s != primary);
        await PlaceShardAsync(ServingMode.AsymCdcCompact, shard: 0, secondary.SiloAddress);
        await PlaceShardAsync(ServingMode.AsymCdcCompact, shard: 1, primary.SiloAddress);
        outcomes = await LoadWithKillAsync(ServingMode.AsymCdcCompact, 160, killAfter: 40, secondary);
        AssertNoneLost(outcomes);
        Assert.Contains(outcomes, o => o.Prediction is not null);
        await AssertServesAsync(ServingMode.AsymCdcCompact);
    }

    private async Task<List<Outcome>> LoadWithKillAsync(ServingMode mode, int queries, int killAfter, InProcessSiloHandle victim)
    {
        var answered = 0;
        var killNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new List<Task<Outcome>>();
        for (var i = 0; i < queries; i++)
        {
            calls.Add(OneAsync(mode, 4000 + i, () =>
            {
                if (Interlocked.Increment(ref answered) == killAfter)
                {
                    killNow.TrySetResult();
                }
            }));
            if (i % 8 == 7)
            {
                // Pace the load so that the kill lands in its middle; the kill itself waits on answers, not on time.
                await Task.Delay(10);
            }

            if (i == queries / 2)
            {
                await killNow.Task.WaitAsync(LostAfter);
                await fixture.Cluster.KillSiloAsync(victim);
            }
        }

        return [.. await Task.WhenAll(calls)];
    }

    private async Task<Outcome> OneAsync(ServingMode mode, int image, Action onDone)
    {
        try
        {
            var prediction = await fixture.Client.PredictAsync(TestModels.Data.Image(image).ToArray(), mode, Timeout).WaitAsync(LostAfter);
            return new Outcome(prediction, null, false);
        }
        catch (TimeoutException)
        {
            return new Outcome(null, null, Lost: true);
        }
        catch (PredictionException e)
        {
            return new Outcome(null, e, false);
        }
        finally
        {
            onDone();
        }
    }

    private static void AssertNoneLost(List<Outcome> outcomes)
    {
        Assert.DoesNotContain(outcomes, o => o.Lost);
        Assert.All(outcomes, o => Assert.True(o.Prediction is not null || o.Error is { Message.Length: > 0 }));
    }

    private async Task AssertServesAsync(ServingMode mode)
    {
        var predictions = await Task.WhenAll(Enumerable.Range(6000, 20).Select(i =>
            fixture.Client.PredictAsync(TestModels.Data.Image(i).ToArray(), mode, Timeout).WaitAsync(LostAfter)));
        Assert.All(predictions, p => Assert.InRange(p.Label, 0, PredictionRequest.Classes - 1));
    }

    /// <summary>Activates a parity-group shard and moves it onto <paramref name="silo"/> (the placement director honours
    /// the migration hint).</summary>
    private async Task PlaceShardAsync(ServingMode mode, int shard, SiloAddress silo)
    {
        var grain = fixture.Cluster.Client.GetGrain<IParityGroupGrain>(ParityGroupKey.Format("fmnist-inn", mode, 2, shard));
        var query = new GroupQuery(TestModels.Data.Image(0).ToArray(), PredictionRequest.DefaultModel, DateTime.UtcNow + Timeout);
        await grain.PredictAsync(query);
        var management = fixture.Cluster.Client.GetGrain<IManagementGrain>(0);
        if (await management.GetActivationAddress(grain) != silo)
        {
            await fixture.Cluster.MigrateAsync(grain, silo);
        }

        // Await the move as a condition: a call re-activates the grain where it now lives.
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await management.GetActivationAddress(grain) != silo)
        {
            await poll.WaitForNextTickAsync(timeout.Token);
            await grain.PredictAsync(query with { DeadlineUtc = DateTime.UtcNow + Timeout });
        }
    }

    private sealed record Outcome(Prediction? Prediction, PredictionException? Error, bool Lost);
}
