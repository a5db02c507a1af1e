using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Cli;
using AsymCdc.Cli.Cluster;

namespace AsymCdc.Reliability.Tests;

/// <summary>Fault drills against real processes: SIGKILL a worker or a frontend under load, restart Redis.</summary>
[Collection(ProcessClusterCollection.Name)]
public sealed class ProcessFaultTests(ProcessClusterFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan WarmHedgeDelay = TimeSpan.FromMilliseconds(100);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private ProcessCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task A_clients_calls_spread_over_every_frontend()
    {
        // The Orleans client routes all calls to one grain through one gateway: with a single frontend key, one frontend
        // took all of a client's load and the other stayed idle (and cold, 0.5 s of stall when it had to take over).
        var before = await QueriesPerFrontendAsync();
        await using var connection = await ClusterConnection.ConnectAsync(Cluster.State, ClusterConnection.DefaultResponseTimeout);

        await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
            connection.Predictions.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline)));

        // The exporter caches a scrape for a moment: read until the 64 answers show (or give up after 10 s).
        var after = await QueriesPerFrontendAsync();
        for (var polls = 0; after.Values.Sum() < before.Values.Sum() + 64 && polls < 100; polls++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
            after = await QueriesPerFrontendAsync();
        }

        Assert.Equal(2, after.Count);
        Assert.All(after, frontend => Assert.True(frontend.Value > before.GetValueOrDefault(frontend.Key),
            $"{frontend.Key} answered none of the 64 calls"));
    }

    [Fact]
    public async Task A_long_lived_client_spreads_its_calls_over_a_frontend_again_once_it_is_back()
    {
        // Each key stays on the gateway it has while that connection lives: after frontend-0 died, every key of this
        // client sat on frontend-1, and the restarted frontend-0 got none of its calls until frontend-1 failed in turn.
        await using var connection = await ClusterConnection.ConnectAsync(Cluster.State, ClusterConnection.DefaultResponseTimeout);
        var client = new AsymCdcClient(connection.Client, respreadPeriod: TimeSpan.FromMilliseconds(200));
        await SendAsync(client, 64);
        var restarted = false;
        await Cluster.KillAsync("frontend-0");
        try
        {
            await SendAsync(client, 64);
            await Cluster.RestartAsync("frontend-0");
            restarted = true;
            var atRestart = (await QueriesPerFrontendAsync())["frontend-0"];

            // Bounded: the Orleans client takes frontend-0 back into its live gateways at its next gateway-list
            // refresh (1 s here), and the client re-spreads its keys at its next check after that.
            var giveUp = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
            var served = atRestart;
            while (served <= atRestart && Stopwatch.GetTimestamp() < giveUp)
            {
                await SendAsync(client, 16);
                served = (await QueriesPerFrontendAsync())["frontend-0"];
            }

            Assert.True(served > atRestart, $"the restarted frontend-0 served none of the client's calls in 60 s ({client.Respreads} re-spreads)");
            Assert.True(client.Respreads > 0);
            // The re-spreads pinged their fresh keys before the keys carried queries.
            Assert.True(client.WarmedKeys >= AsymCdcClient.FrontendKeys, $"{client.WarmedKeys} fresh keys answered their ping");
        }
        finally
        {
            if (!restarted)
            {
                await Cluster.RestartAsync("frontend-0");
            }
        }
    }

    private static Task SendAsync(AsymCdcClient client, int queries) =>
        Task.WhenAll(Enumerable.Range(0, queries).Select(i => PredictRetryingAsync(client, TestEnvironment.Image(i))));

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
            // A call that went out through frontend-0's gateway is sent again through frontend-1 when the client loses
            // that connection (GatewayLossSignal): none waits for its deadline.
            var waited = records.Where(r => r.Error == nameof(PredictionErrorCode.DeadlineExceeded)).ToList();
            Assert.True(waited.Count == 0, $"{waited.Count} calls waited for their deadline (sent at "
                + string.Join(", ", waited.Select(r => $"{r.SentMs:0} ms")) + $", the kill about 1000 ms in; the client: {fixture.Connection.Predictions.Counters})");
            // frontend-0 is still down: these go through frontend-1. Until membership declares frontend-0 dead, a call
            // whose parity group lived there can still fail, with a retryable Unavailable; a client that retries those
            // (as the error code tells it to) gets every answer.
            for (var i = 0; i < 20; i++)
            {
                var prediction = await PredictRetryingAsync(fixture.Connection.Predictions, TestEnvironment.Image(i));
                Assert.InRange(prediction.Label, 0, PredictionRequest.Classes - 1);
            }
        }
        finally
        {
            await Cluster.RestartAsync("frontend-0");
        }
    }

    [Fact]
    public async Task A_hedging_client_gets_every_answer_in_time_while_a_frontend_is_frozen()
    {
        // A frozen frontend (SIGSTOP: a long GC pause, a paused VM) keeps its connections open: the client sees no
        // gateway loss, and a call that entered it would wait for its deadline (+ the client's grace, 6 s). A hedging
        // client sends such a call again through the other frontend, and suspects the frozen one, so new calls avoid it
        // (the budget, 16 hedges at once then one call in twenty, could not pay for every call through it otherwise).
        // A fresh Orleans client spreads its keys over both frontends' gateways (a long-lived one may have them all on
        // one, after an earlier drill killed the other).
        await using var connection = await ClusterConnection.ConnectAsync(Cluster.State, ClusterConnection.DefaultResponseTimeout,
            hedging: new ClientHedging());
        var client = connection.Predictions;
        await LearnAsync(client);
        var before = client.Counters;
        var live = Cluster.Silo("frontend-1");
        var delay = client.HedgeDelay;
        // The client's meter reports what it did (a listener sees every client in the process: at least ours).
        var counted = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ClientInstruments.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            counted.AddOrUpdate(instrument.Name + string.Concat(tags.ToArray().Select(t => $"/{t.Value}")), value, (_, sum) => sum + value));
        listener.Start();
        var calls = new List<Task<Prediction>>();
        var failed = await WhileFrontendFrozenAsync(calls, async () =>
        {
            for (var i = 0; i < 64; i++)
            {
                // The load's schedule, not a synchronisation: 64 calls 10 ms apart, over every frontend key.
                calls.Add(client.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline));
                await Task.Delay(10);
            }
        });
        var during = client.Counters - before;
        Assert.True(failed.Count == 0, $"{failed.Count} of 64 calls failed (during the freeze: {during}; hedge delay {delay?.TotalMilliseconds:0.0} ms "
            + $"at its start, {client.HedgeDelay?.TotalMilliseconds:0.0} ms at its end): {failed.FirstOrDefault()}");
        var answers = calls.Select(c => c.Result).ToList();
        Assert.All(answers, p => Assert.EndsWith($":{live.SiloPort}", p.Frontend!.Split('@')[0], StringComparison.Ordinal));
        Assert.True(during.HedgeWins > 0, $"no hedge answered first ({during.Hedged} hedged)");
        Assert.True(during.FrontendSuspicions > 0, "the frozen frontend was never suspected");
        Assert.True(counted.GetValueOrDefault("asymcdc.client.frontend_suspicions") > 0, string.Join(", ", counted));
        Assert.True(counted.GetValueOrDefault("asymcdc.client.hedges/won") > 0, string.Join(", ", counted));
        // Thawed, it serves again (its calls were held, not lost).
        await AssertServesAsync(10);
    }

    /// <summary>SIGSTOPs frontend-0 while <paramref name="send"/> adds calls to <paramref name="calls"/>, waits for every
    /// call to end, then SIGCONTs it; returns the failed calls' errors.</summary>
    private async Task<List<string>> WhileFrontendFrozenAsync(List<Task<Prediction>> calls, Func<Task> send)
    {
        Cluster.Freeze("frontend-0");
        try
        {
            await send();
            await Task.WhenAll(calls).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
        finally
        {
            Cluster.Thaw("frontend-0");
        }

        return calls.Where(c => !c.IsCompletedSuccessfully).Select(c => c.Exception!.GetBaseException().Message).ToList();
    }

    /// <summary>
    /// Calls a running cluster through a fresh hedging client until it trusts both frontends, its hedge delay reflects a
    /// warm cluster and its budget is full again, so that a freeze that follows meets a client in its steady state.
    /// </summary>
    private static async Task LearnAsync(AsymCdcClient client)
    {
        // It learns which frontend each key enters and its latencies; 36 batches of 16 fill its latency window (512) past
        // the first batch's, which paid for connecting, so the hedge delay is the warm p99.
        // A cold cluster's first answers may be slow enough that a hedge overtakes one and a frontend is suspected while
        // the client learns; it learns on until it suspects neither, so that the freeze's suspicion is a new one.
        // Every second copy comes out of the budget, so a delay learned on cold answers (650 ms once, in a clean clone's
        // first run) leaves more calls stuck on the frozen frontend than the budget can resend before the deadline, and
        // so does a budget the cold calls' hedges spent (1 hedge and 2 resends withheld once, under the full suite's load).
        var hedging = client.Hedging!;
        var learned = new List<Prediction>();
        for (var batch = 0;
             batch < 36 || ((client.SuspectsAFrontend || client.HedgeDelay > WarmHedgeDelay || client.HedgesAvailable < hedging.Burst) && batch < 400);
             batch++)
        {
            learned.AddRange(await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
                client.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline))));
        }

        Assert.False(client.SuspectsAFrontend, $"the client still suspects a frontend after {learned.Count} calls to a running cluster");
        Assert.True(client.HedgesAvailable == hedging.Burst, $"the budget holds {client.HedgesAvailable} of {hedging.Burst} copies after {learned.Count} calls");
        Assert.Equal(2, learned.Select(p => p.Frontend).Distinct().Count());
    }

    [Fact]
    public async Task A_hedging_client_whose_budget_is_spent_gets_every_answer_while_a_frontend_is_frozen()
    {
        // A budget of one copy at once stands in for one the client's hedges have just spent. The calls stuck on the
        // frozen frontend beyond the first do not wait for their deadline: their copies wait for the budget, which the
        // client's new calls refill (one copy per 20 calls; the new calls avoid the suspect).
        await using var connection = await ClusterConnection.ConnectAsync(Cluster.State, ClusterConnection.DefaultResponseTimeout,
            hedging: new ClientHedging { Burst = 1 });
        var client = connection.Predictions;
        await LearnAsync(client);
        var before = client.Counters;
        var calls = new List<Task<Prediction>>();
        var failed = await WhileFrontendFrozenAsync(calls, async () =>
        {
            // The load's schedule, not a synchronisation: 8 calls at once, about half of them into the frozen frontend, more
            // than one copy can rescue; then 300 calls 5 ms apart, which earn 15 copies.
            calls.AddRange(Enumerable.Range(0, 8).Select(i => client.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline)));
            for (var i = 0; i < 300; i++)
            {
                calls.Add(client.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline));
                await Task.Delay(5);
            }
        });
        var during = client.Counters - before;
        Assert.True(failed.Count == 0, $"{failed.Count} of {calls.Count} calls failed (during the freeze: {during}): {failed.FirstOrDefault()}");
        Assert.True(during.HedgesWithheld > 0, $"the budget refused no copy, so none waited for it ({during})");
        await AssertServesAsync(10);
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

    /// <summary>Retries retryable refusals for up to 30 s, as a well-behaved client does; any other error fails.</summary>
    private static async Task<Prediction> PredictRetryingAsync(AsymCdcClient client, float[] image)
    {
        var giveUp = Stopwatch.GetTimestamp() + (long)(30 * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                return await client.PredictAsync(image, ServingMode.AsymCdcCompact, Deadline);
            }
            catch (PredictionException e) when (e.IsRetryable && Stopwatch.GetTimestamp() < giveUp)
            {
                // Retry at once: the next call may land on another parity-group shard or see the new membership.
            }
        }
    }

    private async Task AssertServesAsync(int queries)
    {
        for (var i = 0; i < queries; i++)
        {
            var prediction = await fixture.Connection.Predictions.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline);
            Assert.InRange(prediction.Label, 0, PredictionRequest.Classes - 1);
        }
    }

    /// <summary>Each frontend's <c>asymcdc_queries_total</c>, summed over its series.</summary>
    private async Task<Dictionary<string, double>> QueriesPerFrontendAsync()
    {
        var totals = new Dictionary<string, double>();
        foreach (var silo in Cluster.State.Silos.Where(s => s.Role == AsymCdc.Grains.SiloRoles.Frontend))
        {
            var text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{silo.HttpPort}/metrics"));
            totals[silo.Name] = text.Split('\n')
                .Where(line => line.StartsWith("asymcdc_queries_total", StringComparison.Ordinal))
                .Sum(line => double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
        }

        return totals;
    }

    /// <summary>A retryable <see cref="PredictionException"/> code: the client turns its own transport failures (a
    /// call through a dead gateway) into <see cref="PredictionErrorCode.Unavailable"/>.</summary>
    private static void AssertRetryable(string? error) =>
        Assert.True(error is nameof(PredictionErrorCode.Unavailable) or nameof(PredictionErrorCode.DeadlineExceeded) or nameof(PredictionErrorCode.Overloaded),
            $"error '{error}' is not a retryable PredictionException code");
}
