using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AsymCdc.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Grains.Tests;

/// <summary>Traces, the queue-delay metric and shadow verification, through a real cluster with stragglers.</summary>
[Collection(ObservabilityClusterCollection.Name)]
public sealed class ObservabilityTests(ObservabilityClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Each_query_is_a_span_with_children_for_its_worker_calls_the_encode_and_the_decode()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            // Orleans' grain-call spans are what carry the trace into the worker silos.
            ShouldListenTo = source => source.Name is ServingTelemetry.SourceName or Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        // ParM: its late shadow checks cannot leak into the exact and compact shadow tests, which count by mode.
        var predictions = await SendAsync(ServingMode.Parm, 60, first: 100);

        // Other clusters in this process trace too: keep the query spans of these answers (group ids are unique).
        var groups = predictions.Select(p => p.GroupId).ToHashSet();
        var spans = stopped.ToArray();
        var queries = spans.Where(s => s.OperationName == ServingTelemetry.QuerySpan && s.GetTagItem("asymcdc.group") is long g && groups.Contains(g)).ToList();
        Assert.Equal(predictions.Count, queries.Count);
        var children = spans.ToLookup(s => s.ParentSpanId);
        var direct = queries.Where(q => (string?)q.GetTagItem("asymcdc.served_by") == ServedBy.Direct.ToName()).ToList();
        Assert.NotEmpty(direct);
        // A query answered directly waited for its own worker call, so that child span ended first.
        Assert.All(direct, q => Assert.Contains(children[q.SpanId], c => c.OperationName == ServingTelemetry.WorkerCallSpan
            && (string?)c.GetTagItem("asymcdc.role") == "data" && c.TraceId == q.TraceId));
        Assert.Contains(queries, q => children[q.SpanId].Any(c => c.OperationName == ServingTelemetry.EncodeSpan));
        var rebuilt = queries.Where(q => (string?)q.GetTagItem("asymcdc.served_by") == ServedBy.Parm.ToName()).ToList();
        Assert.NotEmpty(rebuilt);
        Assert.All(rebuilt, q => Assert.Contains(children[q.SpanId], c => c.OperationName == ServingTelemetry.DecodeSpan));

        // Across silos: each direct answer's trace holds the worker's own inference span for the classifier, below the
        // query's worker-call span (with Orleans' client and server spans in between).
        var byId = spans.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        Assert.All(direct, q => Assert.Contains(spans, s => s.OperationName == ServingTelemetry.InferenceSpan && s.TraceId == q.TraceId
            && (string?)s.GetTagItem("asymcdc.model") == "fmnist-inn" && HasAncestor(s, q.SpanId, byId)));
    }

    private static bool HasAncestor(Activity span, ActivitySpanId ancestor, IReadOnlyDictionary<ActivitySpanId, Activity> byId)
    {
        for (var parent = span.ParentSpanId; parent != default; parent = byId.TryGetValue(parent, out var p) ? p.ParentSpanId : default)
        {
            if (parent == ancestor)
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public async Task Exact_reconstructions_agree_with_every_stragglers_late_answer()
    {
        var (checks, agreements) = await ShadowAsync(ServingMode.AsymCdcExact, first: 300);

        // The exact decoder recomputes the straggler's own answer (f⁻¹ of the decoded features, then f): same class.
        Assert.Equal(checks, agreements);
    }

    [Fact]
    public async Task Compact_reconstructions_mostly_agree_with_the_stragglers_late_answers()
    {
        var (checks, agreements) = await ShadowAsync(ServingMode.AsymCdcCompact, first: 600);

        // The compact decoder is a distilled approximation; offline it agrees with the deployed model on about nine in
        // ten reconstructions at k = 2 (asymcdc eval). Half is a loose bound that a broken decoder (one in ten by chance)
        // or a mismatched comparison fails, while sampling noise of a few dozen checks does not.
        Assert.True(agreements * 2 >= checks, $"compact reconstructions agreed with the straggler's own answer on {agreements} of {checks}");
    }

    /// <summary>Sends queries with every reconstruction shadow-checked, then waits (bounded) until each reconstruction's
    /// straggler has answered and been compared.</summary>
    private async Task<(long Checks, long Agreements)> ShadowAsync(ServingMode mode, int first)
    {
        long checks = 0, agreements = 0;
        using var listener = Listen(null, (long value, string instrument, string? tagMode) =>
        {
            if (tagMode == mode.ToName() && instrument == ServingInstruments.ShadowChecksName)
            {
                Interlocked.Add(ref checks, value);
            }
            else if (tagMode == mode.ToName() && instrument == ServingInstruments.ShadowAgreementsName)
            {
                Interlocked.Add(ref agreements, value);
            }
        });

        var predictions = await SendAsync(mode, 80, first);
        var rebuilt = predictions.Count(p => p.ServedBy is ServedBy.ReconstructedExact or ServedBy.ReconstructedCompact);
        Assert.True(rebuilt > 0, "no query was reconstructed; the stragglers should have forced some");
        using var timeout = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        // Each straggler's own answer arrives within its injected delay; every reconstruction is sampled (rate 1).
        while (Interlocked.Read(ref checks) < rebuilt)
        {
            await poll.WaitForNextTickAsync(timeout.Token);
        }

        Assert.Equal(rebuilt, Interlocked.Read(ref checks));
        return (checks, Interlocked.Read(ref agreements));
    }

    private async Task<List<Prediction>> SendAsync(ServingMode mode, int count, int first)
    {
        var data = TestModels.Data;
        var calls = Enumerable.Range(first, count).Select(i => fixture.Client.PredictAsync(data.Image(i).ToArray(), mode)).ToList();
        return [.. await Task.WhenAll(calls)];
    }

    /// <summary>Measurements of this cluster's serving meter only (other clusters in the process share its name).</summary>
    private MeterListener Listen(string? instrumentName, Action<double> onDouble) =>
        Listen(instrumentName, onDouble, null);

    private MeterListener Listen(string? instrumentName, Action<long, string, string?> onLong) =>
        Listen(instrumentName, null, onLong);

    private MeterListener Listen(string? instrumentName, Action<double>? onDouble, Action<long, string, string?>? onLong)
    {
        var factories = fixture.Cluster.Silos.Select(s => (object)s.ServiceProvider.GetRequiredService<IMeterFactory>()).ToHashSet();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ServingInstruments.MeterName && instrument.Meter.Scope is { } scope && factories.Contains(scope)
                    && (instrumentName is null || instrument.Name == instrumentName))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => onDouble?.Invoke(value));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? mode = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "mode")
                {
                    mode = tag.Value as string;
                }
            }

            onLong?.Invoke(value, instrument.Name, mode);
        });
        listener.Start();
        return listener;
    }
}

/// <summary>A fifth of worker calls straggle by 300 ms against a 40 ms deadline, and every reconstruction is shadow-checked.</summary>
public sealed class ObservabilityClusterFixture : ServingClusterFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:StragglerDeadline"] = "00:00:00.040",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:10",
        ["AsymCdc:Serving:GroupWindow"] = "00:00:00.020",
        ["AsymCdc:Serving:ShadowSampleRate"] = "1",
        ["AsymCdc:Stragglers:Rate"] = "0.2",
        ["AsymCdc:Stragglers:Delay"] = "00:00:00.300",
    };
}

/// <summary>Run alone: the bench tests count worker calls process-wide, so traffic of these tests must not overlap theirs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ObservabilityClusterCollection : ICollectionFixture<ObservabilityClusterFixture>
{
    public const string Name = "observability cluster";
}
