using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Cli;
using AsymCdc.Cli.Cluster;

namespace AsymCdc.Reliability.Tests;

/// <summary>Fault drills against real processes: SIGKILL a worker or a frontend under load, restart Redis.</summary>
[Collection(ProcessClusterCollection.Name)]
public sealed class ProcessFaultTests(ProcessClusterFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    private ProcessCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task A_worker_killed_under_load_loses_no_query()
    {
        try
        {
            var records = await LoadWithKillAsync("worker-0");

            var report = ChaosReport.Compute(records, 0, null);
            Assert.Equal(0, report.Lost);
            Assert.Equal(report.Queries, report.Answered + report.Errors);
            Assert.All(records.Where(r => r.Outcome == QueryOutcome.Error), r => AssertRetryable(r.Error));
        }
        finally
        {
            await Cluster.RestartAsync("worker-0");
        }
    }

    [Fact]
    public async Task A_frontend_killed_under_load_fails_its_calls_with_a_retryable_error_and_new_calls_use_the_other()
    {
        try
        {
            var records = await LoadWithKillAsync("frontend-0");

            Assert.DoesNotContain(records, r => r.Outcome == QueryOutcome.Lost);
            Assert.All(records.Where(r => r.Outcome == QueryOutcome.Error), r => AssertRetryable(r.Error));
            // frontend-0 is still down: these go through frontend-1.
            await AssertServesAsync(20);
        }
        finally
        {
            await Cluster.RestartAsync("frontend-0");
        }
    }

    [Fact]
    public async Task The_cluster_keeps_serving_while_redis_restarts()
    {
        var silos = Cluster.State.Silos.Select(s => s.Pid).ToHashSet();
        await AssertServesAsync(10);
        await Cluster.StopRedisAsync();
        try
        {
            Assert.False(await RedisServer.PingAsync(Cluster.State.Redis!.Port, CancellationToken.None));
            await AssertServesAsync(30);
        }
        finally
        {
            await Cluster.StartRedisAsync();
        }

        await AssertServesAsync(30);
        // No silo died or restarted over it, and every one is still ready.
        Assert.Equal(silos, Cluster.State.Silos.Select(s => s.Pid).ToHashSet());
        Assert.All(await Cluster.StatusAsync(), s => Assert.True(s.Ready, $"{s.Silo.Name} is not ready; see {s.Silo.Log}"));
    }

    /// <summary>Open-loop load of 150 queries at 30/s (5 s); SIGKILLs <paramref name="victim"/> one second into it.</summary>
    private async Task<ChaosRecord[]> LoadWithKillAsync(string victim)
    {
        var load = new ChaosLoad(fixture.Connection.Predictions, TestEnvironment.TestSet);
        var running = load.RunAsync(ServingMode.AsymCdcCompact, 150, 30, Deadline, Stopwatch.GetTimestamp(), CancellationToken.None);
        // The drill's schedule, not a synchronisation: the kill lands while queries are in flight.
        await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(1)));
        Assert.False(running.IsCompleted);
        await Cluster.KillAsync(victim);
        return await running;
    }

    private async Task AssertServesAsync(int queries)
    {
        for (var i = 0; i < queries; i++)
        {
            var prediction = await fixture.Connection.Predictions.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline);
            Assert.InRange(prediction.Label, 0, PredictionRequest.Classes - 1);
        }
    }

    /// <summary>A retryable <see cref="PredictionException"/> code, or one of the Orleans client's own transport
    /// failures (a call through a dead gateway: rejected before it was sent, or timed out by the client a second after
    /// its deadline), which are retryable too since predictions are idempotent.</summary>
    private static void AssertRetryable(string? error) =>
        Assert.True(error is nameof(PredictionErrorCode.Unavailable) or nameof(PredictionErrorCode.DeadlineExceeded) or nameof(PredictionErrorCode.Overloaded)
            or nameof(TimeoutException) or nameof(Orleans.Runtime.SiloUnavailableException) or nameof(Orleans.Runtime.OrleansMessageRejectionException)
            or "ConnectionFailedException",
            $"error '{error}' is not retryable");
}
