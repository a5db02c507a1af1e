using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Coding;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// Serves the queries of one (mode, k, shard). For the coded modes it is the batching grain of DESIGN §3: it assigns
/// arriving queries to groups of k in arrival order and dispatches each data query to its own worker silo AT ONCE;
/// when the group is full, or its window ends with k' &lt; k members, or a member misses while it is still open, it
/// encodes the parity over the members present and dispatches it to a (k+1)-th silo. It races each query's own answer
/// against the straggler deadline and, on a miss, decodes the answer from the other k' as soon as they are in. Every
/// await is bounded by the request's deadline, so a caller gets its answer, a reconstruction or a clear error, never a
/// hang. For the uncoded modes it sends one call (none), two (replication) or a backup after a latency percentile
/// (hedged).
/// Each query is one <see cref="ServingTelemetry.QuerySpan"/> with child spans for the encode, its worker calls and the
/// decode; a sampled fraction of reconstructions is checked against the straggler's own late answer (shadow verification).
/// </summary>
[Reentrant]
[FrontendPlacement]
[GrainDirectory(PlacementOnlyDirectory.Name)]
public sealed partial class ParityGroupGrain(
    WorkerDirectory workers,
    IOptions<ServingOptions> options,
    ServingInstruments instruments,
    StragglerDeadline adaptiveDeadline,
    TimeProvider time,
    ILogger<ParityGroupGrain> logger) : Grain, IParityGroupGrain
{
    private const int InputLength = PredictionRequest.InputLength;
    private readonly ServingOptions _options = options.Value;
    private ServingMode _mode;
    private int _k;
    private long _nextGroupId;
    private CodedGroup? _open;
    private LatencyWindow? _latency;
    private LatencyWindow? _ownLatency;

    // Orleans resolves a grain interface by reflection on every GetGrain; these references are made once per target.
    // A silo that left keeps its entry until the cache is rebuilt (bounded by MaxCachedWorkers: restarts add silos).
    private const int MaxCachedWorkers = 256;
    private readonly Dictionary<SiloAddress, IModelWorkerGrain> _workerGrains = [];
    private IDecoderGrain? _decoder;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_mode, _k, _) = ParityGroupKey.Parse(this.GetPrimaryKeyString());
        // A random base keeps group ids unique across shards and re-activations (tests group answers by id).
        _nextGroupId = Random.Shared.NextInt64(1, long.MaxValue >> 20) << 16;
        _latency = _mode == ServingMode.Hedged ? new LatencyWindow(_options.HedgePercentile) : null;
        _ownLatency = _mode.IsCoded() && _options.StragglerDeadlineMedianFactor > 0 ? new LatencyWindow(0.5) : null;
        return Task.CompletedTask;
    }

    public async ValueTask<Prediction> PredictAsync(GroupQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var started = time.GetTimestamp();
        using var span = ServingTelemetry.Source.StartActivity(ServingTelemetry.QuerySpan);
        span?.SetTag("asymcdc.mode", _mode.ToName());
        span?.SetTag("asymcdc.k", _k);
        try
        {
            var prediction = _mode switch
            {
                ServingMode.None => await SingleAsync(query, started),
                ServingMode.Replication => await ReplicatedAsync(query, started),
                ServingMode.Hedged => await HedgedAsync(query, started),
                _ => await CodedAsync(query, started),
            };
            instruments.Answered(_mode, prediction.ServedBy, prediction.LatencyMs);
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

    private async Task<Prediction> SingleAsync(GroupQuery query, long started)
    {
        var silo = workers.Pick(1)[0];
        var (answer, _) = await FirstSuccessfulAsync([CallWorker(silo, ServingModels.Classifier, query.Input, "data")], query.DeadlineUtc);
        return Answer(answer.Logits, ServedBy.Direct, 0, started, answer.Worker);
    }

    private async Task<Prediction> ReplicatedAsync(GroupQuery query, long started)
    {
        var silos = workers.Pick(2);
        Task<WorkerAnswer>[] calls =
        [
            CallWorker(silos[0], ServingModels.Classifier, query.Input, "data"),
            CallWorker(silos[1], ServingModels.Classifier, query.Input, "replica"),
        ];
        var (answer, winner) = await FirstSuccessfulAsync(calls, query.DeadlineUtc);
        return Answer(answer.Logits, winner == 0 ? ServedBy.Direct : ServedBy.Replica, 0, started, answer.Worker);
    }

    private async Task<Prediction> HedgedAsync(GroupQuery query, long started)
    {
        var silos = workers.Pick(2);
        var primary = CallWorker(silos[0], ServingModels.Classifier, query.Input, "data");
        var hedgeAfter = TimeSpan.FromMilliseconds(_latency!.Percentile(_options.StragglerDeadline.TotalMilliseconds));
        await Quietly(primary.WaitAsync(Min(hedgeAfter, Remaining(query.DeadlineUtc)), time));
        if (primary.IsCompletedSuccessfully)
        {
            _latency.Record(time.GetElapsedTime(started).TotalMilliseconds);
            return Answer(primary.Result.Logits, ServedBy.Direct, 0, started, primary.Result.Worker);
        }

        instruments.StragglerDetected(_mode);
        var hedgeStarted = time.GetTimestamp();
        var backup = CallWorker(silos[1], ServingModels.Classifier, query.Input, "hedge");
        var (answer, winner) = await FirstSuccessfulAsync([primary, backup], query.DeadlineUtc);
        _latency.Record(winner == 0 ? time.GetElapsedTime(started).TotalMilliseconds : time.GetElapsedTime(hedgeStarted).TotalMilliseconds);
        return Answer(answer.Logits, winner == 0 ? ServedBy.Direct : ServedBy.Hedge, 0, started, answer.Worker);
    }

    private async Task<Prediction> CodedAsync(GroupQuery query, long started)
    {
        var group = _open ??= new CodedGroup(_nextGroupId++, _k, workers.Pick(_k + 1), InputLength);
        var index = group.Add(query.Input, i => CallWorker(group.Silos[i], ServingModels.Classifier, query.Input, "data"));
        if (group.IsFull)
        {
            Seal(group);
        }
        else if (index == 0)
        {
            _ = SealAfterWindowAsync(group);
        }

        return await AwaitMemberAsync(group, index, query.DeadlineUtc, started);
    }

    private async Task SealAfterWindowAsync(CodedGroup group)
    {
        try
        {
            await Task.Delay(_options.GroupWindow, time);
            Seal(group);
        }
        catch (Exception e)
        {
            LogSealFailed(logger, e, group.Id);
        }
    }

    /// <summary>Encodes the parity over the k' members present and dispatches it; the group takes no more members.</summary>
    private void Seal(CodedGroup group)
    {
        if (group.IsSealed)
        {
            return;
        }

        if (ReferenceEquals(_open, group))
        {
            _open = null;
        }

        var members = group.Inputs.AsSpan(0, group.Count * InputLength);
        var parityInput = new float[InputLength];
        string parityModel;
        using (var encode = ServingTelemetry.Source.StartActivity(ServingTelemetry.EncodeSpan))
        {
            encode?.SetTag("asymcdc.group", group.Id);
            encode?.SetTag("asymcdc.members", group.Count);
            parityModel = Encode(members, parityInput);
        }

        group.Seal(CallWorker(group.ParitySilo, parityModel, parityInput, "parity"));
        instruments.GroupFormed(_mode, partial: !group.IsFull);
    }

    /// <summary>The parity query of the mode over the members present; returns the model that serves it.</summary>
    private string Encode(ReadOnlySpan<float> members, Span<float> parityInput)
    {
        var count = members.Length / InputLength;
        switch (_mode)
        {
            case ServingMode.Parm:
                // ParM: X_p = Σ X_i, served by the learned parity model f_P.
                SumEncoder.Encode(members, count, InputLength, parityInput);
                return ServingModels.Parm(_k);
            case ServingMode.ApproxIfer:
                // ApproxIFER: the Berrut interpolant of the members at the parity node, served by the deployed model.
                BerrutEncoder.Encode(members, count, InputLength, parityInput);
                return ServingModels.Classifier;
            default:
                // AsymCDC: X_p = (1/k')·Σ X_i, served by the deployed model itself.
                MeanEncoder.Encode(members, count, InputLength, parityInput);
                return ServingModels.Classifier;
        }
    }

    private async Task<Prediction> AwaitMemberAsync(CodedGroup group, int index, DateTime deadline, long started)
    {
        var own = group.Data[index];
        var stragglerDeadline = StragglerDeadline();
        Activity.Current?.SetTag("asymcdc.straggler_deadline_ms", stragglerDeadline.TotalMilliseconds);
        await Quietly(own.WaitAsync(Min(stragglerDeadline, Remaining(deadline)), time));
        if (own.IsCompletedSuccessfully)
        {
            _ownLatency?.Record(time.GetElapsedTime(started).TotalMilliseconds);
            return Answer(own.Result.Logits, ServedBy.Direct, group.Id, started, own.Result.Worker);
        }

        // A miss: the own answer is late (or its silo failed). Y_i = D(Y_1..Y_{i-1}, Y_{i+1}..Y_k', Y_p) as soon as
        // those k' answers are in; a late own answer that arrives first still wins.
        instruments.StragglerDetected(_mode);
        LogMemberMissed(logger, group.Id, index, group.Silos[index], own.IsFaulted ? "failed" : "late");
        // The decode needs the parity now: a group still open (its member failed within the window) takes no more
        // members and sends its parity at once instead of at the window's end.
        Seal(group);
        var others = group.OthersAsync(index);
        Task<float[]>? decode = null;
        var decodeStarted = 0L;
        while (true)
        {
            var waitOn = new List<Task>(2);
            if (!own.IsFaulted)
            {
                waitOn.Add(own);
            }

            if (decode is null ? !others.IsFaulted : !decode.IsFaulted)
            {
                waitOn.Add(decode ?? (Task)others);
            }

            if (waitOn.Count == 0)
            {
                var why = (decode?.Exception ?? others.Exception)?.GetBaseException().Message;
                LogMemberLost(logger, group.Id, index, why);
                throw new PredictionException(PredictionErrorCode.Unavailable,
                    $"query {index} of group {group.Id} ({_mode.ToName()}) could not be answered: its worker call failed "
                    + $"({own.Exception?.GetBaseException().Message}) and the group could not rebuild it ({why}); the query may be retried");
            }

            await WithinDeadline(Task.WhenAny(waitOn), deadline, group.Id, index);
            if (own.IsCompletedSuccessfully)
            {
                return Answer(own.Result.Logits, ServedBy.Direct, group.Id, started, own.Result.Worker);
            }

            if (decode is null && others.IsCompletedSuccessfully)
            {
                decodeStarted = time.GetTimestamp();
                decode = Traced(ServingTelemetry.DecodeSpan, "decode", () => Decode(group, index, others.Result));
            }
            else if (decode is { IsCompletedSuccessfully: true })
            {
                instruments.Decoded(_mode, time.GetElapsedTime(decodeStarted).TotalMilliseconds);
                ShadowVerify(own, decode.Result);
                return Answer(decode.Result, Reconstruction(_mode), group.Id, started, worker: null);
            }
            else if (decode is { IsFaulted: true })
            {
                LogDecodeFailed(logger, decode.Exception!.GetBaseException(), group.Id, index);
            }
        }
    }

    /// <summary>Shadow verification: for a sampled fraction of reconstructions, compare the predicted class with the
    /// straggler's own answer once it arrives. Nothing waits on it; a straggler that fails is simply not counted.</summary>
    private void ShadowVerify(Task<WorkerAnswer> own, float[] reconstructed)
    {
        var rate = _options.ShadowSampleRate;
        if (rate <= 0 || (rate < 1 && Random.Shared.NextDouble() >= rate))
        {
            return;
        }

        var mode = _mode;
        var predicted = ArgMax(reconstructed);
        _ = own.ContinueWith(t => instruments.ShadowChecked(mode, ArgMax(t.Result.Logits) == predicted), CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Fixed: the configured deadline, raised when asked to at least the configured multiple of the recent
    /// median (answers censored at the deadline bias it low, never high, while fewer than half are late). Adaptive: the
    /// silo's live quantile of worker service times within [floor, cap].</summary>
    private TimeSpan StragglerDeadline()
    {
        if (_options.IsAdaptiveDeadline)
        {
            return adaptiveDeadline.Current;
        }

        if (_ownLatency is not { Count: > 0 } window)
        {
            return _options.StragglerDeadline;
        }

        var adaptive = TimeSpan.FromMilliseconds(_options.StragglerDeadlineMedianFactor * window.Percentile(0));
        return adaptive > _options.StragglerDeadline ? adaptive : _options.StragglerDeadline;
    }

    private Task<float[]> Decode(CodedGroup group, int missing, WorkerAnswer[] others)
    {
        var data = new WorkerAnswer?[group.Count];
        var n = 0;
        for (var j = 0; j < group.Count; j++)
        {
            data[j] = j == missing ? null : others[n++];
        }

        var call = new DecodeCall(_mode, group.Count, missing, data, others[^1]);
        _decoder ??= GrainFactory.GetGrain<IDecoderGrain>(0);
        return _decoder.DecodeAsync(call).AsTask();
    }

    private Task<WorkerAnswer> CallWorker(SiloAddress silo, string model, float[] input, string role)
    {
        instruments.WorkerCall(_mode, role);
        var sent = time.GetTimestamp();
        // Watched: a call to a silo that turns out unreachable fails as soon as any call to it is rejected.
        var task = Traced(ServingTelemetry.WorkerCallSpan, role,
            () => workers.Suspicion.Watch(silo, WorkerGrain(silo).RunAsync(new WorkerCall(model, input, _mode)).AsTask()),
            span => span.SetTag("asymcdc.model", model).SetTag("asymcdc.silo", silo.ToString()));
        if (_options.IsAdaptiveDeadline)
        {
            // Late answers are recorded too, when they finally arrive: the quantile must see the tail it guards against.
            _ = task.ContinueWith(t => adaptiveDeadline.Record(time.GetElapsedTime(sent)), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        // A straggler's late failure is nobody's business once the query is answered; observe it so it is not reported as unobserved.
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
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

    /// <summary>The first call to succeed and its position; a clear error when all failed or the deadline passed.</summary>
    private async Task<(WorkerAnswer Answer, int Index)> FirstSuccessfulAsync(Task<WorkerAnswer>[] calls, DateTime deadline)
    {
        var pending = new List<Task<WorkerAnswer>>(calls);
        Exception? failure = null;
        while (pending.Count > 0)
        {
            var done = await WithinDeadline(Task.WhenAny(pending), deadline, groupId: 0, index: 0);
            if (done.IsCompletedSuccessfully)
            {
                return (done.Result, Array.IndexOf(calls, done));
            }

            failure = done.Exception?.GetBaseException();
            pending.Remove(done);
        }

        throw failure as PredictionException ?? new PredictionException(PredictionErrorCode.Unavailable,
            $"every worker call of this {_mode.ToName()} query failed ({failure?.Message}); the query may be retried", failure!);
    }

    private async Task<T> WithinDeadline<T>(Task<T> task, DateTime deadline, long groupId, int index)
    {
        try
        {
            return await task.WaitAsync(Remaining(deadline), time);
        }
        catch (TimeoutException)
        {
            throw DeadlineExceeded(groupId, index);
        }
    }

    private TimeSpan Remaining(DateTime deadline)
    {
        var remaining = deadline - time.GetUtcNow().UtcDateTime;
        return remaining > TimeSpan.Zero ? remaining : throw DeadlineExceeded(0, 0);
    }

    private PredictionException DeadlineExceeded(long groupId, int index) => new(PredictionErrorCode.DeadlineExceeded,
        $"no answer and no reconstruction for query {index} of group {groupId} ({_mode.ToName()}) before its deadline; the query may be retried");

    private Prediction Answer(float[] logits, ServedBy servedBy, long groupId, long started, string? worker) =>
        new(ArgMax(logits), logits, servedBy, time.GetElapsedTime(started).TotalMilliseconds, groupId, _mode, worker);

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

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Waits without throwing: the caller inspects the task's state afterwards.</summary>
    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // Late (TimeoutException) or failed: the caller decides from the task's state.
        }
    }
}
