using AsymCdc.Abstractions;

namespace AsymCdc.Grains.Tests;

/// <summary>Three workers, the first a slow node (every call on it takes 5 s); a group window of a full second, so that
/// a group of one is sealed by its window only long after its caller's deadline.</summary>
public sealed class SlowNodeClusterFixture : ServingClusterFixture
{
    protected override int Workers => 3;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:GroupWindow"] = "00:00:01",
        ["AsymCdc:Serving:StragglerDeadline"] = "00:00:00.100",
        ["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = "0",
    };

    protected override TimeSpan? FirstWorkerSlowdown => TimeSpan.FromSeconds(5);
}

public sealed class SlowNodeTests(SlowNodeClusterFixture fixture) : IClassFixture<SlowNodeClusterFixture>
{
    /// <summary>Well inside the 1 s window: a member decoded only once its group's window ended would miss it.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(900);

    [Fact]
    public async Task A_member_that_misses_while_its_group_is_open_seals_the_group_and_is_decoded_without_waiting_for_the_window()
    {
        // One query at a time: each is alone in its group (k' = 1), and round-robin puts the member of one in three on
        // the slow node. Its miss (100 ms) must send the parity at once; with the parity sent at the window's end (1 s)
        // the caller's 900 ms deadline passed first.
        var slow = fixture.WorkerSilos[0].SiloAddress.ToParsableString();
        // Warm-up (first activations), with time to spare.
        for (var i = 0; i < 3; i++)
        {
            await fixture.Client.PredictAsync(TestModels.Data.Image(6990 + i).ToArray(), ServingMode.AsymCdcCompact, TimeSpan.FromSeconds(10));
        }

        // Until two members have landed on the slow node: which queries share a group (and so which slots they take)
        // depends on how fast the others answer, which a loaded machine changes; each one must still beat its deadline.
        var predictions = new List<Prediction>();
        for (var i = 0; i < 12 && predictions.Count(p => p.ServedBy == ServedBy.ReconstructedCompact) < 2; i++)
        {
            predictions.Add(await fixture.Client.PredictAsync(TestModels.Data.Image(7000 + i).ToArray(), ServingMode.AsymCdcCompact, Deadline));
        }

        Assert.DoesNotContain(predictions, p => p.Worker == slow);
        Assert.True(predictions.Count(p => p.ServedBy == ServedBy.ReconstructedCompact) >= 2,
            $"served by: {string.Join(", ", predictions.Select(p => p.ServedBy))}");
        foreach (var p in predictions)
        {
            Assert.InRange(p.Label, 0, PredictionRequest.Classes - 1);
        }
    }
}
