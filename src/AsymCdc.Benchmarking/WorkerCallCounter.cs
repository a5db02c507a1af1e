using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AsymCdc.Grains;
using AsymCdc.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Cli;

/// <summary>Counts worker calls per mode from the in-process silos' <c>asymcdc.worker.calls</c> counter, for the
/// extra-work ratio (worker calls per query − 1), and keeps each mode's reconstruction times
/// (<c>asymcdc.decode.duration</c>: from the decode's start to its answer, as the parity group sees it). Once a cluster is <see cref="Track">tracked</see>, only the meters of
/// its silos count, so other clusters in the same process (tests running side by side) do not inflate the ratio.</summary>
public sealed class WorkerCallCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _calls = new();
    private readonly ConcurrentDictionary<object, bool> _scopes = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _decodes = new();

    public WorkerCallCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ServingInstruments.MeterName
                && instrument.Name is ServingInstruments.WorkerCallsName or ServingInstruments.DecodeDurationName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (Counts(instrument) && ModeOf(tags) is { } mode)
            {
                _calls.AddOrUpdate(mode, value, (_, total) => total + value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (Counts(instrument) && ModeOf(tags) is { } mode)
            {
                _decodes.GetOrAdd(mode, _ => new ConcurrentQueue<double>()).Enqueue(value);
            }
        });
        _listener.Start();
    }

    public long Calls(string mode) => _calls.GetValueOrDefault(mode);

    /// <summary>Reconstruction times (ms) of <paramref name="mode"/> recorded so far, in arrival order.</summary>
    public IReadOnlyList<double> DecodeTimes(string mode) => _decodes.TryGetValue(mode, out var times) ? [.. times] : [];

    private bool Counts(Instrument instrument) =>
        _scopes.IsEmpty || (instrument.Meter.Scope is { } scope && _scopes.ContainsKey(scope));

    private static string? ModeOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "mode" && tag.Value is string mode)
            {
                return mode;
            }
        }

        return null;
    }

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
