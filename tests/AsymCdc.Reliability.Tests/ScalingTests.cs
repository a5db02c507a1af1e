using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Cli;
using AsymCdc.Cli.Cluster;
using AsymCdc.Client;
using AsymCdc.Grains;
using AsymCdc.Inference.Data;

namespace AsymCdc.Reliability.Tests;

/// <summary>
/// <c>cluster scale</c> under load on real processes: workers 3 → 4 → 3 and frontends 2 → 3 → 2 while an open-loop client
/// that follows membership (as a deployed one does) sends <c>none</c> queries — one worker call each, so a call that
/// fails on a leaving worker is a query that fails.
/// </summary>
public sealed class ScalingTests
{
    [Fact]
    public async Task Scaling_out_and_in_under_load_answers_every_query_and_new_silos_take_load()
    {
        var options = new ProcessClusterOptions
        {
            Frontends = 2,
            Workers = 3,
            RunDirectory = Path.Combine(Path.GetTempPath(), $"asymcdc-scaling-{Guid.NewGuid():N}"),
            ModelRepository = TestEnvironment.ModelRepository,
            DrainTimeout = TimeSpan.FromSeconds(10),
        };
        options.Settings["AsymCdc:Serving:K"] = "2";
        await using var cluster = await ProcessCluster.StartAsync(options);
        await using var connection = await ClusterConnection.ConnectAsync(cluster.State, ClusterConnection.DefaultResponseTimeout,
            hedging: new ClientHedging(), followMembership: true);
        var load = new ChaosLoad(connection.Predictions, FashionMnist.LoadTestSet());
        await load.RunAsync(ServingMode.None, 100, 50, TimeSpan.FromSeconds(30), Stopwatch.GetTimestamp(), CancellationToken.None);

        var records = new List<Task<ChaosRecord>>();
        using var stop = new CancellationTokenSource();
        var start = Stopwatch.GetTimestamp();
        var sending = Task.Run(async () =>
        {
            // 60 queries a second, open loop, until the scaling is done.
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var due = TimeSpan.FromSeconds(i / 60.0) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                lock (records)
                {
                    records.Add(load.OneAsync(i % 1000, ServingMode.None, TimeSpan.FromSeconds(5), start));
                }
            }
        });

        // Served by a silo: an answer that came back through it (its silo port is in the answer's address).
        bool Served(Func<ChaosRecord, string?> silo, SiloProcessInfo by)
        {
            lock (records)
            {
                return records.Any(t => t.IsCompletedSuccessfully && silo(t.Result) is { } s && s.Contains($":{by.SiloPort}@", StringComparison.Ordinal));
            }
        }

        async Task UntilServedAsync(Func<ChaosRecord, string?> silo, SiloProcessInfo by, TimeSpan limit)
        {
            var since = Stopwatch.GetTimestamp();
            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (!Served(silo, by) && Stopwatch.GetElapsedTime(since) < limit)
            {
                await poll.WaitForNextTickAsync();
            }
        }

        var outWorkers = await cluster.ScaleAsync(workers: 4, frontends: null);
        var newWorker = cluster.Silo(Assert.Single(outWorkers.Added));
        // The newcomer takes data slots after its parity-only window (2 s).
        await UntilServedAsync(r => r.Worker, newWorker, TimeSpan.FromSeconds(20));
        var inWorkers = await cluster.ScaleAsync(workers: 3, frontends: null);
        var outFrontends = await cluster.ScaleAsync(workers: null, frontends: 3);
        var newFrontend = cluster.Silo(Assert.Single(outFrontends.Added));
        // The client sees the new gateway within a second and moves keys onto it at its next spread check; a spread
        // whose pings the newcomer did not answer in time is tried again after twice the period.
        await UntilServedAsync(r => r.Frontend, newFrontend, (connection.Predictions.RespreadPeriod * 4) + TimeSpan.FromSeconds(2));
        var inFrontends = await cluster.ScaleAsync(workers: null, frontends: 2);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await sending;
        var answers = await Task.WhenAll(records); // the sender has stopped: nothing adds to the list any more

        Assert.All(answers, r => Assert.True(r.Outcome == QueryOutcome.Answered, $"query sent at {r.SentMs:0} ms: {r.Outcome} {r.Error}"));
        Assert.Equal([newWorker.Name], inWorkers.Removed); // the highest-numbered leaves
        Assert.Empty(inWorkers.Killed);                    // on SIGTERM, within the drain timeout
        Assert.Empty(inFrontends.Killed);
        Assert.Equal(3, cluster.State.WithRole(SiloRoles.GpuWorker).Count);
        Assert.Equal(2, cluster.State.WithRole(SiloRoles.Frontend).Count);
        Assert.Equal(3, cluster.RunningPids().Count - 1 - 2); // Redis + 2 frontends + 3 workers run, nothing else
        // Both newcomers served: the worker took data calls, the frontend took the client's calls.
        Assert.Contains(answers, r => r.Worker is { } w && w.Contains($":{newWorker.SiloPort}@", StringComparison.Ordinal));
        Assert.Contains(answers, r => r.Frontend is { } f && f.Contains($":{newFrontend.SiloPort}@", StringComparison.Ordinal));
    }
}
