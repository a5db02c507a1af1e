using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Cli;

/// <summary>
/// Open-loop load: query i is sent at t0 + i/rate whether or not earlier ones have returned (a closed loop would hide
/// the tail by slowing down with the system). Each query is bounded by its timeout plus a grace period; one that
/// returns neither an answer nor an error by then is counted lost. Queries are items of a served model's test split,
/// sent as typed tensors of its item shape.
/// </summary>
public sealed class OpenLoopRunner
{
    private readonly AsymCdcClient client;
    private readonly LabeledSet data;
    private readonly string _model;
    private readonly int[] _shape;

    /// <param name="model">The served model the items are sent to (its repository name or an alias).</param>
    public OpenLoopRunner(AsymCdcClient client, LabeledSet data, string model = PredictionRequest.DefaultModel)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(data);
        (this.client, this.data, _model, _shape) = (client, data, model, [.. data.ItemShape]);
    }

    /// <summary>Fashion-MNIST test images to the product's model.</summary>
    public OpenLoopRunner(AsymCdcClient client, FashionMnistSet data)
        : this(client, LabeledSet.From(data, "fmnist/test"))
    {
    }

    public static readonly TimeSpan LostGrace = TimeSpan.FromSeconds(2);

    public async Task<(QueryRecord[] Records, TimeSpan Elapsed)> RunAsync(ServingMode mode, int queries, double rate,
        TimeSpan timeout, int firstImage, Action? onCompleted, CancellationToken cancellationToken)
    {
        var records = new QueryRecord[queries];
        var tasks = new Task[queries];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < queries; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken);
            }

            var index = i;
            tasks[i] = Task.Run(async () =>
            {
                records[index] = await OneAsync((firstImage + index) % data.Count, mode, timeout, cancellationToken);
                onCompleted?.Invoke();
            }, cancellationToken);
        }

        await Task.WhenAll(tasks);
        return (records, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Sends query i at t0 + <paramref name="schedule"/>[i] (e.g. Poisson arrivals) and measures its latency from that
    /// scheduled time, not from the actual send, so a late send caused by a busy client counts against the run.
    /// </summary>
    public async Task<(QueryRecord[] Records, TimeSpan Elapsed)> RunAsync(ServingMode mode, IReadOnlyList<TimeSpan> schedule,
        TimeSpan timeout, int firstImage, Action? onCompleted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var records = new QueryRecord[schedule.Count];
        var tasks = new Task[schedule.Count];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < schedule.Count; i++)
        {
            var due = schedule[i] - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken);
            }

            var index = i;
            var scheduled = started + (long)(schedule[i].TotalSeconds * Stopwatch.Frequency);
            tasks[i] = Task.Run(async () =>
            {
                records[index] = await OneAsync((firstImage + index) % data.Count, mode, timeout, cancellationToken, scheduled);
                onCompleted?.Invoke();
            }, cancellationToken);
        }

        await Task.WhenAll(tasks);
        return (records, Stopwatch.GetElapsedTime(started));
    }

    private async Task<QueryRecord> OneAsync(int image, ServingMode mode, TimeSpan timeout, CancellationToken cancellationToken,
        long? scheduled = null)
    {
        var input = new Tensor(data.Slice(image, 1).ToArray(), _shape);
        var started = scheduled ?? Stopwatch.GetTimestamp();
        try
        {
            var prediction = await client.PredictAsync(_model, input, mode, timeout, cancellationToken).WaitAsync(timeout + LostGrace, cancellationToken);
            return new QueryRecord(QueryOutcome.Answered, Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                prediction.ServedBy.IsReconstruction(), prediction.Label == data.Labels[image]);
        }
        catch (TimeoutException)
        {
            return new QueryRecord(QueryOutcome.Lost, Stopwatch.GetElapsedTime(started).TotalMilliseconds, false, false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new QueryRecord(QueryOutcome.Error, Stopwatch.GetElapsedTime(started).TotalMilliseconds, false, false);
        }
    }
}
