using AsymCdc.Abstractions;

namespace AsymCdc.Grains.Tests;

/// <summary>A frontend and four workers, each query on one worker (mode <c>none</c>): a worker call that fails is a
/// query that fails, so a worker that leaves badly shows as errors.</summary>
public sealed class LeavingWorkerClusterFixture : ServingClusterFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:10",
        ["AsymCdc:Serving:SlowWorkerFactor"] = "0",
    };
}

public sealed class GracefulLeaveTests(LeavingWorkerClusterFixture fixture) : IClassFixture<LeavingWorkerClusterFixture>
{
    [Fact]
    public async Task A_worker_stopped_under_load_leaves_without_failing_a_query()
    {
        var leaving = fixture.WorkerSilos[^1];
        var leavingName = fixture.NameOf(leaving.SiloAddress);
        var answers = new List<(Prediction Answer, bool AfterStop)>();
        var failures = new List<Exception>();
        var stopped = 0;
        using var stop = new CancellationTokenSource();

        // Eight closed loops: the worker has calls in flight and arriving while it leaves.
        var loops = Enumerable.Range(0, 8).Select(loop => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var answer = await fixture.Client.PredictAsync(TestModels.Data.Image((loop * 997 + i) % TestModels.Data.Count).ToArray(), ServingMode.None);
                    lock (answers)
                    {
                        answers.Add((answer, Volatile.Read(ref stopped) == 1));
                    }
                }
                catch (Exception e)
                {
                    lock (failures)
                    {
                        failures.Add(e);
                    }
                }
            }
        })).ToList();

        await WaitUntilAsync(() => { lock (answers) { return answers.Count(a => a.Answer.Worker == leavingName) >= 20; } });
        await fixture.Cluster.StopSiloAsync(leaving);
        Volatile.Write(ref stopped, 1);
        await WaitUntilAsync(() => { lock (answers) { return answers.Count(a => a.AfterStop) >= 100; } });
        await stop.CancelAsync();
        await Task.WhenAll(loops);

        Assert.True(failures.Count == 0, $"{failures.Count} queries failed: " + string.Join("; ", failures.Take(3).Select(f => f.Message)));
        Assert.DoesNotContain(answers, a => a.AfterStop && a.Answer.Worker == leavingName);
        await fixture.WaitForWorkersAsync(3);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!condition())
        {
            await poll.WaitForNextTickAsync(timeout.Token);
        }
    }
}
