namespace AsymCdc.Serving;

/// <summary>
/// One serving mode's policy: given a query, which workers get which inputs and when, and what answers the caller.
/// It decides; its <see cref="IServingHost{TWorker,TAnswer}"/> carries (grain calls in a silo, simulated workers in
/// virtual time). Single-threaded: the host calls it, and calls back into it, one call at a time.
/// </summary>
public abstract class ServingStrategy<TWorker, TAnswer>
    where TAnswer : class
{
    protected ServingStrategy(string mode, IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(observer);
        ArgumentNullException.ThrowIfNull(trigger);
        (Mode, Host, Observer, Trigger) = (mode, host, observer, trigger);
        _bookkeeping = RecordCall;
    }

    private readonly Action<WorkerDispatch<TWorker, TAnswer>> _bookkeeping;

    /// <summary>The mode's configuration name (none, hedged, …).</summary>
    public string Mode { get; }

    protected IServingHost<TWorker, TAnswer> Host { get; }

    protected IServingObserver<TWorker> Observer { get; }

    protected ReconstructionTrigger Trigger { get; }

    protected TimeProvider Time => Host.Time;

    /// <summary>Takes a query; it is answered (or failed) later through its own completion.</summary>
    public void Submit(ServedQuery<TAnswer> query)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Started = Time.GetTimestamp();
        Serve(query);
    }

    protected abstract void Serve(ServedQuery<TAnswer> query);

    /// <summary>Hands a worker call to the host; <paramref name="continuation"/> runs when it completes.</summary>
    protected WorkerDispatch<TWorker, TAnswer> Send(TWorker worker, float[] input, CallRole role, long groupId,
        Action<WorkerDispatch<TWorker, TAnswer>> continuation)
    {
        var call = Prepare(worker, input, role, groupId, continuation);
        Host.Send(call);
        return call;
    }

    /// <summary>A worker call not yet handed to the host (<see cref="IServingHost{TWorker,TAnswer}.Send"/>), so that the
    /// caller can record it first: a host may complete a call before Send returns.</summary>
    protected WorkerDispatch<TWorker, TAnswer> Prepare(TWorker worker, float[] input, CallRole role, long groupId,
        Action<WorkerDispatch<TWorker, TAnswer>> continuation)
    {
        Observer.WorkerCallSent(role);
        var call = new WorkerDispatch<TWorker, TAnswer>(worker, input, role, Time.GetTimestamp(), groupId, _bookkeeping);
        call.OnCompleted(continuation);
        return call;
    }

    /// <summary>Every completed call: the host's slow-worker view and the trigger's service times learn from it.</summary>
    private void RecordCall(WorkerDispatch<TWorker, TAnswer> call)
    {
        var elapsed = Time.GetElapsedTime(call.Sent);
        Observer.CallCompleted(call.Worker, elapsed, call.IsSucceeded);
        if (call.IsSucceeded)
        {
            Trigger.ServiceTime(elapsed);
        }
    }

    /// <summary>Runs <paramref name="callback"/> once after <paramref name="due"/> on the policy's thread (the host's
    /// timers guarantee that); dispose the timer to cancel it.</summary>
    protected ITimer After(TimeSpan due, Action callback) =>
        Time.CreateTimer(static state => ((Action)state!)(), callback, due, Timeout.InfiniteTimeSpan);

    protected QueryFailure AllCallsFailed(Exception? last) => new(
        $"every worker call of this {Mode} query failed ({last?.Message}); the query may be retried", last, CauseIsTheAnswer: true);
}

/// <summary><c>none</c>: one call, no redundancy.</summary>
public sealed class SingleCallStrategy<TWorker, TAnswer>(IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger)
    : ServingStrategy<TWorker, TAnswer>("none", host, observer, trigger)
    where TAnswer : class
{
    protected override void Serve(ServedQuery<TAnswer> query) =>
        Send(Host.Pick(1)[0], query.Input, CallRole.Data, 0, call =>
        {
            if (call.IsSucceeded)
            {
                query.TryAnswer(call.Result!, AnswerPath.Direct, call.Worker);
            }
            else
            {
                query.TryFail(AllCallsFailed(call.Error));
            }
        });
}

/// <summary><c>replication</c>: every query on two workers at once; the first answer wins.</summary>
public sealed class ReplicationStrategy<TWorker, TAnswer>(IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger)
    : ServingStrategy<TWorker, TAnswer>("replication", host, observer, trigger)
    where TAnswer : class
{
    protected override void Serve(ServedQuery<TAnswer> query)
    {
        var workers = Host.Pick(2);
        var failed = 0;
        void OnAnswer(WorkerDispatch<TWorker, TAnswer> call, AnswerPath path)
        {
            if (call.IsSucceeded)
            {
                query.TryAnswer(call.Result!, path, call.Worker);
            }
            else if (++failed == 2)
            {
                query.TryFail(AllCallsFailed(call.Error));
            }
        }

        Send(workers[0], query.Input, CallRole.Data, 0, c => OnAnswer(c, AnswerPath.Direct));
        Send(workers[1], query.Input, CallRole.Replica, 0, c => OnAnswer(c, AnswerPath.Backup));
    }
}

/// <summary>
/// <c>hedged</c> ("The Tail at Scale"): one call, and a backup to a second worker when the first has not answered
/// after a percentile of recent latencies (before any sample: the straggler deadline); the first answer wins.
/// </summary>
public sealed class HedgedStrategy<TWorker, TAnswer> : ServingStrategy<TWorker, TAnswer>
    where TAnswer : class
{
    private readonly LatencyWindow _latency;
    private readonly TimeSpan _fallback;

    public HedgedStrategy(IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger,
        double percentile, TimeSpan fallback)
        : base("hedged", host, observer, trigger)
    {
        _latency = new LatencyWindow(percentile);
        _fallback = fallback;
    }

    /// <summary>The delay after which a backup goes out now.</summary>
    public TimeSpan HedgeDelay => TimeSpan.FromMilliseconds(_latency.Percentile(_fallback.TotalMilliseconds));

    protected override void Serve(ServedQuery<TAnswer> query)
    {
        var workers = Host.Pick(2);
        ITimer? timer = null;
        var hedgeSent = 0L;
        var failed = 0;

        void Hedge()
        {
            timer?.Dispose();
            if (hedgeSent != 0 || query.IsDone)
            {
                return;
            }

            Observer.StragglerDetected();
            hedgeSent = Time.GetTimestamp();
            Send(workers[1], query.Input, CallRole.Hedge, 0, OnBackup);
        }

        void OnPrimary(WorkerDispatch<TWorker, TAnswer> call)
        {
            if (call.IsSucceeded)
            {
                timer?.Dispose();
                if (!query.IsDone)
                {
                    _latency.Record(Time.GetElapsedTime(query.Started).TotalMilliseconds);
                }

                query.TryAnswer(call.Result!, AnswerPath.Direct, call.Worker);
            }
            else if (hedgeSent == 0)
            {
                failed++;
                Hedge(); // a failed primary is hedged at once
            }
            else if (++failed == 2)
            {
                query.TryFail(AllCallsFailed(call.Error));
            }
        }

        void OnBackup(WorkerDispatch<TWorker, TAnswer> call)
        {
            if (call.IsSucceeded)
            {
                if (!query.IsDone)
                {
                    _latency.Record(Time.GetElapsedTime(hedgeSent).TotalMilliseconds);
                }

                query.TryAnswer(call.Result!, AnswerPath.Backup, call.Worker);
            }
            else if (++failed == 2)
            {
                query.TryFail(AllCallsFailed(call.Error));
            }
        }

        var primary = Send(workers[0], query.Input, CallRole.Data, 0, OnPrimary);
        if (!primary.IsCompleted)
        {
            timer = After(HedgeDelay, Hedge);
        }
    }
}
