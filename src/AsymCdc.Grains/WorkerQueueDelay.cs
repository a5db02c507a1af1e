namespace AsymCdc.Grains;

/// <summary>
/// Turns the inference layer's cumulative queue counters into one <c>asymcdc.worker.queue_delay</c> sample per worker
/// call: after each call, the mean queue delay of the calls the model served since the previous sample. The micro-batcher
/// does not hand a call its own queue time, and this mean over the calls that finished meanwhile is what an autoscaler
/// wants anyway (Prometheus divides the histogram's sum by its count).
/// </summary>
public sealed class WorkerQueueDelay(IModelCatalog models, ServingInstruments instruments)
{
    private readonly Dictionary<string, (long Calls, TimeSpan Delay)> _seen = [];
    private readonly Lock _lock = new();

    /// <summary>Records the queue delay for one call of <paramref name="model"/> that has just completed.</summary>
    public void CallCompleted(string model)
    {
        var now = models.QueueStats(model);
        TimeSpan mean;
        lock (_lock)
        {
            var before = _seen.GetValueOrDefault(model);
            if (now.Calls <= before.Calls)
            {
                return; // a catalog without counts, or another call already took this interval
            }

            _seen[model] = now;
            mean = (now.TotalQueueDelay - before.Delay) / (now.Calls - before.Calls);
        }

        instruments.QueueDelay(model, mean);
    }
}
