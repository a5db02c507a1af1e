using AsymCdc.Abstractions;

namespace AsymCdc.Grains.Tests;

/// <summary>A frontend and three workers; a fourth worker joins while the cluster serves and is, for a minute (far
/// longer than the test), a newcomer.</summary>
public sealed class NewWorkerClusterFixture : ServingClusterFixture
{
    protected override int Workers => 3;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:10",
        ["AsymCdc:Serving:NewWorkerParityOnly"] = "00:01:00",
    };
}

public sealed class NewWorkerTests(NewWorkerClusterFixture fixture) : IClassFixture<NewWorkerClusterFixture>
{
    [Fact]
    public async Task A_worker_that_joins_a_serving_cluster_first_takes_only_parity_slots()
    {
        for (var i = 0; i < 6; i++)
        {
            await fixture.Client.PredictAsync(TestModels.Data.Image(i).ToArray(), ServingMode.AsymCdcCompact);
        }

        var joined = await fixture.Cluster.StartAdditionalSiloAsync();
        try
        {
            await fixture.WaitForWorkersAsync(4);
            var newcomer = joined.SiloAddress.ToParsableString();

            // Twelve groups of two: round-robin over four workers would put the newcomer in a data slot of half of them.
            var predictions = new List<Prediction>();
            for (var i = 0; i < 12; i++)
            {
                predictions.AddRange(await Task.WhenAll(
                    fixture.Client.PredictAsync(TestModels.Data.Image(100 + 2 * i).ToArray(), ServingMode.AsymCdcCompact),
                    fixture.Client.PredictAsync(TestModels.Data.Image(101 + 2 * i).ToArray(), ServingMode.AsymCdcCompact)));
            }

            var direct = predictions.Where(p => p.ServedBy == ServedBy.Direct).ToList();
            Assert.NotEmpty(direct);
            Assert.DoesNotContain(direct, p => p.Worker == newcomer);
        }
        finally
        {
            await fixture.Cluster.StopSiloAsync(joined);
        }
    }
}
