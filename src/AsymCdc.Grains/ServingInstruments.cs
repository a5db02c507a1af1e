using AsymCdc.Serving;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AsymCdc.Abstractions;

namespace AsymCdc.Grains;

/// <summary>The serving metrics (meter <c>AsymCdc</c>): queries by mode and path, latency, groups, decodes,
/// stragglers, lost and rejected queries, worker calls (for the extra-work ratio) and shadow verification of
/// reconstructions. The workers' queue delay, the autoscaling signal, is the inference layer's (InferenceInstruments).</summary>
public sealed class ServingInstruments
{
    public const string MeterName = "AsymCdc";

    private readonly Meter _meter;
    private readonly Counter<long> _queries;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _groups;
    private readonly Counter<long> _decodes;
    private readonly Histogram<double> _decodeDuration;
    private readonly Counter<long> _stragglers;
    private readonly Counter<long> _lost;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _workerCalls;
    private readonly Counter<long> _shadowChecks;
    private readonly Counter<long> _shadowAgreements;

    public ServingInstruments(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _queries = meter.CreateCounter<long>("asymcdc.queries", "{query}", "Queries answered, by model, mode and served-by path");
        _latency = meter.CreateHistogram<double>("asymcdc.query.duration", "ms", "Latency of answered queries inside the cluster");
        _groups = meter.CreateCounter<long>("asymcdc.groups", "{group}", "Parity groups formed, by mode, whether partial and whether their parity was sent (auto withholds one its redundancy budget cannot pay for)");
        _decodes = meter.CreateCounter<long>("asymcdc.decodes", "{decode}", "Reconstructions run, by mode");
        _decodeDuration = meter.CreateHistogram<double>(DecodeDurationName, "ms", "Duration of one reconstruction");
        _stragglers = meter.CreateCounter<long>("asymcdc.stragglers", "{call}", "Member answers that missed the straggler deadline");
        _lost = meter.CreateCounter<long>("asymcdc.lost", "{query}", "Queries that got no answer by their deadline");
        _rejected = meter.CreateCounter<long>("asymcdc.rejected", "{query}", "Queries refused, by error code");
        _workerCalls = meter.CreateCounter<long>(WorkerCallsName, "{call}", "Model calls sent to workers, by mode and role");
        _shadowChecks = meter.CreateCounter<long>(ShadowChecksName, "{check}", "Reconstructed answers compared with the straggler's own late answer, by mode");
        _shadowAgreements = meter.CreateCounter<long>(ShadowAgreementsName, "{check}", "Shadow checks where the reconstruction predicted the same class, by mode");
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _autoChoices = new();
    private Counter<long>? _autoSwitches;

    /// <summary><c>auto</c> in parity group <paramref name="group"/> now serves with <paramref name="mode"/>:
    /// <c>asymcdc.auto.switches</c> counts the changes and the gauge <c>asymcdc.auto.groups</c> how many groups of this
    /// silo serve with each mode now.</summary>
    public void AutoChose(string group, string mode)
    {
        if (_autoSwitches is null)
        {
            lock (_autoChoices)
            {
                if (_autoSwitches is null)
                {
                    _meter.CreateObservableGauge("asymcdc.auto.groups", () => _autoChoices.Values.GroupBy(static m => m)
                        .Select(static g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("mode", g.Key))),
                        "{group}", "Parity groups in mode auto serving new queries with each mode now");
                    _autoSwitches = _meter.CreateCounter<long>("asymcdc.auto.switches", "{switch}", "Times auto changed the mode it serves with, by the mode chosen");
                }
            }
        }

        _autoChoices[group] = mode;
        _autoSwitches.Add(1, new KeyValuePair<string, object?>("mode", mode));
    }

    /// <summary>Publishes the silo's adaptive straggler deadline as a gauge (ms), so operators see what it settled on.</summary>
    public void ObserveDeadline(StragglerDeadline deadline) =>
        _meter.CreateObservableGauge("asymcdc.straggler.deadline", () => deadline.Current.TotalMilliseconds, "ms",
            "The adaptive straggler deadline of this silo now");

    /// <summary>Publishes how many worker silos this silo judges slow now and how many are on trial (gauge
    /// <c>asymcdc.workers.slow</c>, by <c>state</c>): a slow node, seen from the silos that pick workers.</summary>
    public void ObserveSlowWorkers(SlowWorkerDetector<Orleans.Runtime.SiloAddress> detector) =>
        _meter.CreateObservableGauge("asymcdc.workers.slow", () => new Measurement<int>[]
            {
                new(detector.SlowCount, new KeyValuePair<string, object?>("state", "slow")),
                new(detector.TrialCount, new KeyValuePair<string, object?>("state", "on_trial")),
            },
            "{silo}", "Worker silos this silo judges persistently slow (state=slow: passed over, or given the last slot only) or is trying again (state=on_trial)");

    public const string ShadowChecksName = "asymcdc.shadow.checks";
    public const string ShadowAgreementsName = "asymcdc.shadow.agreements";

    /// <summary>Worker calls per mode; the demo divides by queries to get the extra-work ratio.</summary>
    public const string WorkerCallsName = "asymcdc.worker.calls";

    public const string DecodeDurationName = "asymcdc.decode.duration";

    public void Answered(string model, ServingMode mode, ServedBy servedBy, double milliseconds)
    {
        var tags = new TagList { { "model", model }, { "mode", mode.ToName() }, { "path", servedBy.ToName() } };
        _queries.Add(1, tags);
        _latency.Record(milliseconds, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("mode", mode.ToName()));
    }

    public void GroupFormed(string model, ServingMode mode, bool partial, bool parity) =>
        _groups.Add(1, Model(model), new KeyValuePair<string, object?>("mode", mode.ToName()), new KeyValuePair<string, object?>("partial", partial),
            new KeyValuePair<string, object?>("parity", parity));

    public void Decoded(string model, ServingMode mode, double milliseconds)
    {
        _decodes.Add(1, Model(model), new KeyValuePair<string, object?>("mode", mode.ToName()));
        _decodeDuration.Record(milliseconds, Model(model), new KeyValuePair<string, object?>("mode", mode.ToName()));
    }

    public void StragglerDetected(string model, ServingMode mode) =>
        _stragglers.Add(1, Model(model), new KeyValuePair<string, object?>("mode", mode.ToName()));

    private static KeyValuePair<string, object?> Model(string model) => new("model", model);

    public void Lost(string model, ServingMode mode) =>
        _lost.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("mode", mode.ToName()));

    public void Rejected(PredictionErrorCode code) => _rejected.Add(1, new KeyValuePair<string, object?>("code", code.ToString()));

    public void WorkerCall(string model, ServingMode mode, string role) =>
        _workerCalls.Add(1, Model(model), new KeyValuePair<string, object?>("mode", mode.ToName()), new KeyValuePair<string, object?>("role", role));

    public void ShadowChecked(ServingMode mode, bool agreed)
    {
        var tag = new KeyValuePair<string, object?>("mode", mode.ToName());
        _shadowChecks.Add(1, tag);
        if (agreed)
        {
            _shadowAgreements.Add(1, tag);
        }
    }
}
