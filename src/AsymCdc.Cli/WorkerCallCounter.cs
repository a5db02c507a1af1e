using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AsymCdc.Grains;

namespace AsymCdc.Cli;

/// <summary>Counts worker calls per mode from the in-process silos' <c>asymcdc.worker.calls</c> counter, for the
/// extra-work ratio (worker calls per query − 1).</summary>
public sealed class WorkerCallCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _calls = new();

    public WorkerCallCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ServingInstruments.MeterName && instrument.Name == ServingInstruments.WorkerCallsName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "mode" && tag.Value is string mode)
                {
                    _calls.AddOrUpdate(mode, value, (_, total) => total + value);
                }
            }
        });
        _listener.Start();
    }

    public long Calls(string mode) => _calls.GetValueOrDefault(mode);

    public void Dispose() => _listener.Dispose();
}
