using System.Diagnostics;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Inference.Data;

namespace AsymCdc.Cli.Cluster;

/// <summary>One query of a chaos run: when it was sent (ms after the load began), what came back and how long it took;
/// for an answer, who served it (worker and frontend silo) and the time the frontend measured (the rest of the latency is
/// the hops to it).</summary>
public readonly record struct ChaosRecord(double SentMs, double LatencyMs, QueryOutcome Outcome, string? Error,
    ServedBy? ServedBy = null, double ServerMs = 0, long GroupId = 0, string? Worker = null, string? Frontend = null)
{
    /// <summary>The columns of <see cref="ToCsv"/>.</summary>
    public const string CsvHeader = "sent_ms,latency_ms,outcome,error,served_by,server_ms,group,worker,frontend";

    /// <summary>This query as one CSV line (<see cref="CsvHeader"/>).</summary>
    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{SentMs:0.###},{LatencyMs:0.###},{Outcome},{Error},{ServedBy?.ToName()},{ServerMs:0.###},{GroupId},{Worker},{Frontend}");
}

/// <summary>
/// Open-loop load for a chaos drill: query i is sent at i/rate whatever happened to earlier ones, and is bounded by its
/// deadline plus <see cref="OpenLoopRunner.LostGrace"/>; a call with neither a prediction nor an error by then is lost.
/// Unlike the demo's runner it keeps each query's send time, so the report can split before, during and after a kill.
/// </summary>
public sealed class ChaosLoad(AsymCdcClient client, FashionMnistSet data)
{
    public async Task<ChaosRecord[]> RunAsync(ServingMode mode, int queries, double rate, TimeSpan timeout, long startTimestamp,
        CancellationToken cancellationToken)
    {
        var records = new ChaosRecord[queries];
        var tasks = new Task[queries];
        for (var i = 0; i < queries; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(startTimestamp);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken);
            }

            var index = i;
            tasks[i] = Task.Run(async () => records[index] = await OneAsync(index % data.Count, mode, timeout, startTimestamp), cancellationToken);
        }

        await Task.WhenAll(tasks);
        return records;
    }

    /// <summary>One query, sent now; <see cref="ChaosRecord.SentMs"/> counts from <paramref name="startTimestamp"/>.</summary>
    public async Task<ChaosRecord> OneAsync(int image, ServingMode mode, TimeSpan timeout, long startTimestamp)
    {
        var sent = Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
        var started = Stopwatch.GetTimestamp();
        var call = client.PredictAsync(data.Image(image).ToArray(), mode, timeout);
        // The bound is a race, not a cancellation: the call itself is never cancelled, so a hang shows as lost.
        if (await Task.WhenAny(call, Task.Delay(timeout + OpenLoopRunner.LostGrace)) != call)
        {
            _ = call.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            return new ChaosRecord(sent, Stopwatch.GetElapsedTime(started).TotalMilliseconds, QueryOutcome.Lost, null);
        }

        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            var answer = await call;
            return new ChaosRecord(sent, latency, QueryOutcome.Answered, null, answer.ServedBy, answer.LatencyMs, answer.GroupId, answer.Worker, answer.Frontend);
        }
        catch (PredictionException e)
        {
            return new ChaosRecord(sent, latency, QueryOutcome.Error, e.Code.ToString());
        }
        catch (Exception e)
        {
            return new ChaosRecord(sent, latency, QueryOutcome.Error, e.GetType().Name);
        }
    }
}
