using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AsymCdc.Grains;
using AsymCdc.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Cli;

/// <summary>Counts worker calls per mode from the in-process silos' <c>asymcdc.worker.calls</c> counter, for the
/// extra-work ratio (worker calls per query − 1). Once a cluster is <see cref="Track">tracked</see>, only the meters of
/// its silos count, so other clusters in the same process (tests running side by side) do not inflate the ratio.</summary>
public sealed class WorkerCallCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _calls = new();
    private readonly ConcurrentDictionary<object, bool> _scopes = new();

    public WorkerCallCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ServingInstruments.MeterName && instrument.Name == ServingInstruments.WorkerCallsName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (!_scopes.IsEmpty && (instrument.Meter.Scope is not { } scope || !_scopes.ContainsKey(scope)))
            {
                return;
            }

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

    /// <summary>Counts only the calls recorded by this cluster's silos (and any other tracked cluster) from now on.</summary>
    public void Track(LocalCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        foreach (var host in cluster.Workers.Prepend(cluster.Frontend))
        {
            // Each silo's ServingInstruments come from its own IMeterFactory, which is the scope of its meters.
            _scopes[host.Services.GetRequiredService<IMeterFactory>()] = true;
        }
    }

    public void Dispose() => _listener.Dispose();
}
