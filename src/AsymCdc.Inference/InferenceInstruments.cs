using System.Diagnostics.Metrics;

namespace AsymCdc.Inference;

/// <summary>
/// The inference layer's metrics, on the meter <c>AsymCdc</c> (the serving meter's name, so one Prometheus/OTLP
/// registration exports both). <c>asymcdc.worker.queue_delay</c> (seconds, by model): for each call the micro-batcher
/// serves, the time from its arrival to the start of the run that served it. It is the autoscaler's signal
/// (<c>asymcdc_worker_queue_delay_seconds</c>): it grows as soon as a model instance has more work than it can run.
/// </summary>
public sealed class InferenceInstruments : IDisposable
{
    public const string MeterName = "AsymCdc";
    public const string QueueDelayName = "asymcdc.worker.queue_delay";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _queueDelay;

    /// <param name="meterFactory">The host's factory (its meters are scoped to that host); null creates a process-wide
    /// meter that this object disposes.</param>
    public InferenceInstruments(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        // Seconds, so Prometheus names it asymcdc_worker_queue_delay_seconds (the HPA's metric).
        _queueDelay = _meter.CreateHistogram<double>(QueueDelayName, "s",
            "Time a model call waited in the micro-batch queue before the run that served it");
    }

    /// <summary>One served call of the model tagged <paramref name="model"/> waited <paramref name="seconds"/>.</summary>
    public void QueueDelay(KeyValuePair<string, object?> model, double seconds) => _queueDelay.Record(seconds, model);

    /// <summary>The tag of a model's measurements, made once per model.</summary>
    public static KeyValuePair<string, object?> ModelTag(string model) => new("model", model);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
