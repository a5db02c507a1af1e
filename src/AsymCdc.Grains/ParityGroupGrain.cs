using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Serving;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// Serves the queries of one (model, mode, k, shard): the Orleans shell around the mode's serving policy
/// (<see cref="ServingStrategies"/>, in AsymCdc.Serving), which decides which worker gets which input and when, how a
/// group is batched and sealed, and when a late answer is hedged or decoded. This grain only carries those decisions:
/// a worker call becomes a <see cref="IModelWorkerGrain"/> call on the chosen silo, a decode a <see cref="IDecoderGrain"/>
/// call, a timer a callback on this activation; and it holds each caller to its request deadline, so a caller gets
/// its answer, a reconstruction or a clear error, never a hang. Each query is one <see cref="ServingTelemetry.QuerySpan"/>
/// with child spans for the encode, its worker calls and the decode; a sampled fraction of reconstructions is checked
/// against the straggler's own late answer (shadow verification).
/// </summary>
[Reentrant]
[FrontendPlacement]
[GrainDirectory(PlacementOnlyDirectory.Name)]
public sealed partial class ParityGroupGrain(
    WorkerDirectory workers,
    IModelCatalog models,
    IOptions<ServingOptions> options,
    ServingInstruments instruments,
    StragglerDeadline adaptiveDeadline,
    TimeProvider time,
    ILogger<ParityGroupGrain> logger) : Grain, IParityGroupGrain, IServingHost<SiloAddress, WorkerAnswer>, IServingObserver<SiloAddress>
{
    private readonly ServingOptions _options = options.Value;
    private Coding.CodedModel _model = null!;
    private string _parityModel = "";
    private ServingMode _mode;
    private ServingMode _coder; // the mode whose encoder and decoder serve the coded queries: _mode, or auto's coder
    private int _k; // data queries per group: the key's, or the larger one auto chose
    private ServingStrategy<SiloAddress, WorkerAnswer>? _strategy;
    private TimeProvider? _activationTime;

    // Orleans resolves a grain interface by reflection on every GetGrain; these references are made once per target.
    // A silo that left keeps its entry until the cache is rebuilt (bounded by MaxCachedWorkers: restarts add silos).
    private const int MaxCachedWorkers = 256;
    private readonly Dictionary<SiloAddress, IModelWorkerGrain> _workerGrains = [];
    private IDecoderGrain? _decoder;

    TimeProvider IServingHost<SiloAddress, WorkerAnswer>.Time => _activationTime!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (var model, _mode, _k, _) = ParityGroupKey.Parse(this.GetPrimaryKeyString());
        _model = models.FindServed(model) ?? throw new PredictionException(PredictionErrorCode.UnknownModel,
            $"parity group '{this.GetPrimaryKeyString()}' is for model '{model}', which this silo does not serve");
        _model.EnsureSupports(_mode, _k);
        // auto picks its group size too: k, or a larger k' where the budget or the decoders call for one. Not bounded by
        // the workers live now: a group activated while a cluster starts would keep a small bound for its lifetime.
        (_k, var autoCoder, var autoWhy) = _mode == ServingMode.Auto
            ? AutoCoding.ChooseGroup(_k, _options.RedundancyBudget, AutoCoding.MaxGroup, g => AutoCoding.Options(_model, g), _options.AutoMinAgreement)
            : (_k, null, null);
        _coder = _mode == ServingMode.Auto ? ServingModes.Parse(autoCoder ?? AutoCoding.Compact) : _mode;
        if (autoCoder is not null && autoWhy is { } why)
        {
            // e.g. "codes with parm (agreement 0.8762 ≥ 0.85)"; where it cannot code, its first choice (hedged) says why.
            LogAutoCoder(logger, this.GetPrimaryKeyString(), why);
        }

        // ParM's parity query runs on its parity model; every other call on the classifier itself.
        _parityModel = _coder == ServingMode.Parm ? _model.Parity[_k] : _model.Name;
        _activationTime = new ActivationTimeProvider(time, TaskScheduler.Current, e => LogPolicyFailed(logger, e, _mode.ToName()));
        ReconstructionTrigger Trigger() => ReconstructionTrigger.For(_options.Deadline, _options.StragglerDeadline,
            _options.StragglerDeadlineMedianFactor, _options.TriggerQuantile, _options.TriggerFactor, adaptiveDeadline);
        // A random base keeps group ids unique across shards and re-activations (tests group answers by id).
        var firstGroupId = Random.Shared.NextInt64(1, long.MaxValue >> 20) << 16;
        // auto's groups are of its chosen size; its budget check (1/k against RedundancyBudget) applies to that size.
        var settings = new StrategySettings(_k, _model.InputLength, _options.GroupWindow, _options.HedgePercentile, _options.StragglerDeadline, firstGroupId)
        {
            EagerExactDecode = _options.EagerExactDecode,
            WindowFromArrivals = _options.WindowFromArrivals,
            CodingUnavailable = autoCoder is null ? autoWhy : null,
            AutoCoder = autoCoder ?? AutoCoding.Compact,
        };
        // auto's two halves each learn from their own answers: its coded half gets a trigger of its own.
        _strategy = ServingStrategies.Create(_mode.ToName(), settings with { RedundancyBudget = _options.RedundancyBudget }, this, this,
            Trigger(), Trigger());
        return Task.CompletedTask;
    }

    public async ValueTask<Prediction> PredictAsync(GroupQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var started = time.GetTimestamp();
        using var span = ServingTelemetry.Source.StartActivity(ServingTelemetry.QuerySpan);
        span?.SetTag("asymcdc.model", _model.Name);
        span?.SetTag("asymcdc.mode", _mode.ToName());
        span?.SetTag("asymcdc.k", _k);
        try
        {
            var remaining = Remaining(query.DeadlineUtc, 0);
            var pending = new PendingQuery(span);
            var served = new ServedQuery<WorkerAnswer>(query.Input, static q => ((PendingQuery)q.State!).Done.TrySetResult()) { State = pending };
            _strategy!.Submit(served);
            try
            {
                await pending.Done.Task.WaitAsync(remaining, time);
            }
            catch (TimeoutException)
            {
                throw DeadlineExceeded(served.GroupId);
            }

            var prediction = Answer(served, started);
            instruments.Answered(_model.Name, _mode, prediction.ServedBy, prediction.LatencyMs);
            span?.SetTag("asymcdc.served_by", prediction.ServedBy.ToName());
            span?.SetTag("asymcdc.group", prediction.GroupId);
            return prediction;
        }
        catch (Exception e)
        {
            span?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    private Prediction Answer(ServedQuery<WorkerAnswer> served, long started)
    {
        if (served.Failure is { } failure)
        {
            throw failure.CauseIsTheAnswer && failure.Cause is PredictionException typed
                ? typed
                : new PredictionException(PredictionErrorCode.Unavailable, failure.Message, failure.Cause!);
        }

        var answer = served.Answer!;
        var servedBy = served.Path switch
        {
            AnswerPath.Direct => ServedBy.Direct,
            AnswerPath.Backup => _mode == ServingMode.Replication ? ServedBy.Replica : ServedBy.Hedge,
            _ => Reconstruction(_coder),
        };
        var label = ArgMax(answer.Logits);
        if (served.Path == AnswerPath.Reconstructed)
        {
            ShadowVerify(served, label);
        }

        return new(label, answer.Logits, servedBy, time.GetElapsedTime(started).TotalMilliseconds, served.GroupId, _mode,
            served.Path == AnswerPath.Reconstructed ? null : answer.Worker);
    }

    /// <summary>Shadow verification: for a sampled fraction of reconstructions, compare the predicted class with the
    /// straggler's own answer once it arrives. Nothing waits on it; a straggler that fails is simply not counted.</summary>
    private void ShadowVerify(ServedQuery<WorkerAnswer> served, int predicted)
    {
        var rate = _options.ShadowSampleRate;
        if (rate <= 0 || (rate < 1 && Random.Shared.NextDouble() >= rate))
        {
            return;
        }

        var mode = _mode;
        served.WhenOwnAnswerArrives?.Invoke(own => instruments.ShadowChecked(mode, ArgMax(own.Logits) == predicted));
    }

    SiloAddress[] IServingHost<SiloAddress, WorkerAnswer>.Pick(int count) => workers.Pick(count, _model.Name);

    void IServingHost<SiloAddress, WorkerAnswer>.Send(WorkerDispatch<SiloAddress, WorkerAnswer> call)
    {
        var silo = call.Worker;
        var model = call.Role == CallRole.Parity ? _parityModel : _model.Name;
        // Watched: a call to a silo that turns out unreachable fails as soon as any call to it is rejected.
        var task = Traced(ServingTelemetry.WorkerCallSpan, RoleName(call.Role),
            () => workers.Suspicion.Watch(silo, WorkerGrain(silo).RunAsync(new WorkerCall(model, call.Input, _coder, call.Role == CallRole.Parity)).AsTask()),
            span => span.SetTag("asymcdc.model", model).SetTag("asymcdc.silo", silo.ToString()));
        _ = CompleteAsync(task, call.Complete, call.Fail, silo);
    }

    void IServingHost<SiloAddress, WorkerAnswer>.Decode(DecodeJob<SiloAddress, WorkerAnswer> job)
    {
        var call = new DecodeCall(_coder, job.Group.Count, job.Missing,
            job.DataAnswers(), job.ParityAnswer, _model.Name);
        _decoder ??= GrainFactory.GetGrain<IDecoderGrain>(0);
        // The decode belongs to the missing member's query, whichever answer of the group made it possible.
        var current = Activity.Current;
        Activity.Current = (job.Query.State as PendingQuery)?.Span ?? current;
        var decoder = _decoder;
        var task = Traced(ServingTelemetry.DecodeSpan, "decode", async () =>
            new WorkerAnswer(await decoder.DecodeAsync(call), Features: null, Worker: "", Straggled: false));
        Activity.Current = current;
        _ = CompleteAsync(task, job.Complete, job.Fail);
    }

    /// <summary>Reports a grain call's outcome to the policy; the await resumes on this activation.</summary>
    private async Task CompleteAsync(Task<WorkerAnswer> task, Action<WorkerAnswer> complete, Action<Exception> fail, SiloAddress? worker = null)
    {
        WorkerAnswer answer;
        try
        {
            answer = await task;
        }
        catch (Exception e)
        {
            if (worker is not null && e is PredictionException { NotStarted: true })
            {
                // The worker does not load this group's model (or its parity model): pass it over for the model.
                workers.NoteLacks(worker, _model.Name);
            }

            Report(() => fail(e));
            return;
        }

        Report(() => complete(answer));
    }

    private void Report(Action outcome)
    {
        try
        {
            outcome();
        }
        catch (Exception e)
        {
            LogPolicyFailed(logger, e, _mode.ToName());
        }
    }

    void IServingObserver<SiloAddress>.WorkerCallSent(CallRole role) => instruments.WorkerCall(_model.Name, _mode, RoleName(role));

    void IServingObserver<SiloAddress>.CallCompleted(SiloAddress worker, TimeSpan elapsed, bool succeeded)
    {
        if (succeeded)
        {
            workers.SlowWorkers.Record(worker, elapsed);
        }
    }

    void IServingObserver<SiloAddress>.StragglerDetected() => instruments.StragglerDetected(_model.Name, _mode);

    IDisposable? IServingObserver<SiloAddress>.Encoding(long groupId, int members)
    {
        var encode = ServingTelemetry.Source.StartActivity(ServingTelemetry.EncodeSpan);
        encode?.SetTag("asymcdc.group", groupId);
        encode?.SetTag("asymcdc.members", members);
        return encode;
    }

    void IServingObserver<SiloAddress>.GroupFormed(bool partial, bool parity) => instruments.GroupFormed(_model.Name, _mode, partial, parity);

    void IServingObserver<SiloAddress>.MemberMissed(long groupId, int index, SiloAddress worker, bool failed) =>
        LogMemberMissed(logger, groupId, index, worker, failed ? "failed" : "late");

    void IServingObserver<SiloAddress>.MemberLost(long groupId, int index, string? reason) => LogMemberLost(logger, groupId, index, reason);

    void IServingObserver<SiloAddress>.DecodeFailed(long groupId, int index, Exception error) => LogDecodeFailed(logger, error, groupId, index);

    void IServingObserver<SiloAddress>.Decoded(TimeSpan elapsed) => instruments.Decoded(_model.Name, _mode, elapsed.TotalMilliseconds);

    void IServingObserver<SiloAddress>.AutoChose(string mode, string why)
    {
        instruments.AutoChose(this.GetPrimaryKeyString(), mode);
        LogAutoChose(logger, this.GetPrimaryKeyString(), mode, why);
    }

    private IModelWorkerGrain WorkerGrain(SiloAddress silo)
    {
        if (!_workerGrains.TryGetValue(silo, out var grain))
        {
            if (_workerGrains.Count >= MaxCachedWorkers)
            {
                _workerGrains.Clear();
            }

            grain = GrainFactory.GetGrain<IModelWorkerGrain>(silo.ToParsableString());
            _workerGrains[silo] = grain;
        }

        return grain;
    }

    /// <summary>Starts <paramref name="call"/> inside a child span of the current one that ends when the call completes;
    /// the caller's current span is left as it was (the call outlives this synchronous step).</summary>
    private static Task<T> Traced<T>(string spanName, string role, Func<Task<T>> call, Action<Activity>? tag = null)
    {
        var parent = Activity.Current;
        var span = ServingTelemetry.Source.StartActivity(spanName, ActivityKind.Client);
        if (span is null)
        {
            return call();
        }

        span.SetTag("asymcdc.role", role);
        tag?.Invoke(span);
        try
        {
            var task = call();
            _ = task.ContinueWith(static (t, state) =>
            {
                var s = (Activity)state!;
                if (t.IsFaulted)
                {
                    s.SetStatus(ActivityStatusCode.Error, t.Exception!.GetBaseException().Message);
                }

                s.Stop();
            }, span, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return task;
        }
        catch (Exception e)
        {
            span.SetStatus(ActivityStatusCode.Error, e.Message);
            span.Stop();
            throw;
        }
        finally
        {
            Activity.Current = parent;
        }
    }

    private TimeSpan Remaining(DateTime deadline, long groupId)
    {
        var remaining = deadline - time.GetUtcNow().UtcDateTime;
        return remaining > TimeSpan.Zero ? remaining : throw DeadlineExceeded(groupId);
    }

    private PredictionException DeadlineExceeded(long groupId) => new(PredictionErrorCode.DeadlineExceeded,
        groupId == 0
            ? $"no answer for this {_mode.ToName()} query before its deadline; the query may be retried"
            : $"no answer and no reconstruction for a query of group {groupId} ({_mode.ToName()}) before its deadline; the query may be retried");

    private static string RoleName(CallRole role) => role switch
    {
        CallRole.Data => "data",
        CallRole.Replica => "replica",
        CallRole.Hedge => "hedge",
        _ => "parity",
    };

    private static ServedBy Reconstruction(ServingMode mode) => mode switch
    {
        ServingMode.AsymCdcExact => ServedBy.ReconstructedExact,
        ServingMode.AsymCdcCompact => ServedBy.ReconstructedCompact,
        ServingMode.Parm => ServedBy.Parm,
        _ => ServedBy.ApproxIfer,
    };

    private static int ArgMax(float[] logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>A caller waiting in <see cref="PredictAsync"/>: completed by the policy, with the query's span for the decode.</summary>
    private sealed class PendingQuery(Activity? span)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Activity? Span { get; } = span;
    }
}
