namespace AsymCdc.Inference;

/// <summary>
/// A snapshot of one model's micro-batching counters since it was loaded. Counters only grow, so a
/// metrics exporter turns them into rates; <see cref="QueueLength"/> is a gauge. Queue delay (time from
/// a call's arrival to the start of the session run that serves it) is the autoscaling signal.
/// </summary>
/// <param name="Model">The model name.</param>
/// <param name="Calls">Calls served by a session run.</param>
/// <param name="Items">Items (rows) served; a call may carry several.</param>
/// <param name="Runs">Session runs; <c>Items / Runs</c> is the mean batch size.</param>
/// <param name="Cancelled">Calls cancelled before their run.</param>
/// <param name="Failed">Calls whose run failed.</param>
/// <param name="LargestBatch">Most items in one run.</param>
/// <param name="QueueLength">Calls waiting now.</param>
/// <param name="TotalQueueDelay">Sum over served calls of arrival-to-run time.</param>
/// <param name="MaxQueueDelay">Longest arrival-to-run time of a served call.</param>
/// <param name="TotalRunTime">Sum of session run durations.</param>
/// <param name="ParityCalls">Calls queued apart as parity queries (<see cref="InferenceOptions.ParityRunners"/>); 0
/// without parity runners.</param>
public readonly record struct ModelFunctionStats(
    string Model,
    long Calls,
    long Items,
    long Runs,
    long Cancelled,
    long Failed,
    int LargestBatch,
    int QueueLength,
    TimeSpan TotalQueueDelay,
    TimeSpan MaxQueueDelay,
    TimeSpan TotalRunTime,
    long ParityCalls = 0)
{
    /// <summary>Mean items per session run.</summary>
    public double MeanBatchSize => Runs == 0 ? 0 : (double)Items / Runs;

    /// <summary>Mean arrival-to-run time of a served call.</summary>
    public TimeSpan MeanQueueDelay => Calls == 0 ? TimeSpan.Zero : TotalQueueDelay / Calls;
}
