using System.Diagnostics.Metrics;
using AsymCdc.Abstractions;
using AsymCdc.Serving;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace AsymCdc.Grains.Tests;

/// <summary>Three workers, the first slowed by 300 ms on every call (a slow node: 50x a healthy call here), k = 2, so a
/// full group needs all three; a fixed 50 ms straggler deadline, so that whether a member was rebuilt says whether it
/// held a data slot on the slow node. The slow-worker rule is on, at its default factor.</summary>
public sealed class SlowWorkerClusterFixture : ServingClusterFixture
{
    protected override int Workers => 3;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:Deadline"] = "fixed",
        ["AsymCdc:Serving:StragglerDeadline"] = "00:00:00.050",
        ["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = "0",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:10",
    };

    protected override TimeSpan? FirstWorkerSlowdown => TimeSpan.FromMilliseconds(300);
}

public sealed class SlowWorkerTests(SlowWorkerClusterFixture fixture) : IClassFixture<SlowWorkerClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_slow_worker_silo_is_judged_by_the_frontend_then_takes_only_the_parity_slot_and_its_queries_are_no_longer_rebuilt()
    {
        var directory = fixture.Primary.ServiceProvider.GetRequiredService<WorkerDirectory>();
        var slow = fixture.WorkerSilos[0].SiloAddress;
        var changes = new System.Collections.Concurrent.ConcurrentQueue<(SiloAddress Silo, SlowWorkerChange Change)>();
        directory.SlowWorkers.Changed += (silo, change) => changes.Enqueue((silo, change));

        // Pairs of queries (a group of k = 2 when they share a window) until the frontend judges a worker slow: its first
        // 32 calls are not judged (cold), then 8 calls make a median. The load is the drill's driver, not a wait.
        var judging = new List<Prediction>();
        for (var pair = 0; pair < 200 && changes.IsEmpty; pair++)
        {
            judging.AddRange(await PairAsync(pair));
        }

        var judged = Assert.Single(changes);
        Assert.Equal(slow, judged.Silo);
        Assert.Equal((SlowWorkerState.Healthy, SlowWorkerState.Slow), (judged.Change.From, judged.Change.To));
        Assert.True(judged.Change.MedianMs > 3 * judged.Change.FleetMedianMs, judged.Change.ToString());
        Assert.Equal(1, SlowWorkersGauge("slow") + SlowWorkersGauge("on_trial"));

        // Too few others to pass it over (a group needs all three), so it takes the last slot: the parity.
        for (var i = 0; i < 9; i++)
        {
            Assert.Equal(slow, directory.Pick(3)[2]);
            Assert.DoesNotContain(slow, directory.Pick(2)); // a group of one, or a hedge: two others remain
        }

        // Its queries are no longer rebuilt: a member is rebuilt only when a healthy worker misses 50 ms. Before, the slow
        // node held a data slot of two groups in three, and a third of the queries were rebuilt.
        var after = new List<Prediction>();
        for (var pair = 0; pair < 30; pair++)
        {
            after.AddRange(await PairAsync(1000 + pair));
        }

        var rebuilt = after.Count(p => p.ServedBy == ServedBy.ReconstructedCompact);
        Assert.True(rebuilt < 10, $"{rebuilt} of {after.Count} answers rebuilt after the slow node was judged "
            + $"({judging.Count(p => p.ServedBy == ServedBy.ReconstructedCompact)} of {judging.Count} while it was judged)");
        Assert.All(changes, c => Assert.Equal(slow, c.Silo)); // no healthy worker was judged slow meanwhile
    }

    private Task<Prediction[]> PairAsync(int pair) => Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
        fixture.Client.PredictAsync(TestModels.Data.Image((2 * pair) + i).ToArray(), ServingMode.AsymCdcCompact, Deadline)));

    /// <summary>The primary frontend's <c>asymcdc.workers.slow</c> gauge for <paramref name="state"/>, read as an exporter
    /// would (other clusters' silos in this process publish their own: only the primary's meter is read).</summary>
    private int SlowWorkersGauge(string state)
    {
        var meter = fixture.Primary.ServiceProvider.GetRequiredService<IMeterFactory>().Create(ServingInstruments.MeterName);
        var value = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter && instrument.Name == "asymcdc.workers.slow")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, measured, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "state" && Equals(tag.Value, state))
                {
                    value += measured;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }
}
