namespace AsymCdc.Serving;

/// <summary>
/// One worker call a policy asked its host to make: which worker, which input, in which role. The host reports the
/// outcome with <see cref="Complete"/> or <see cref="Fail"/>, on the policy's thread; the policy's continuation runs
/// then, and afterwards an observer's (shadow verification watches a straggler's late answer this way).
/// </summary>
public sealed class WorkerDispatch<TWorker, TAnswer>
    where TAnswer : class
{
    private readonly Action<WorkerDispatch<TWorker, TAnswer>>? _bookkeeping;
    private Action<WorkerDispatch<TWorker, TAnswer>>? _continuation;
    private Action<WorkerDispatch<TWorker, TAnswer>>? _watcher;

    /// <param name="bookkeeping">The strategy's own record of every call (one delegate per strategy, not per call).</param>
    internal WorkerDispatch(TWorker worker, float[] input, CallRole role, long sent, long groupId,
        Action<WorkerDispatch<TWorker, TAnswer>>? bookkeeping = null)
    {
        (Worker, Input, Role, Sent, GroupId, _bookkeeping) = (worker, input, role, sent, groupId, bookkeeping);
    }

    public TWorker Worker { get; }

    public float[] Input { get; }

    public CallRole Role { get; }

    /// <summary>The parity group the call belongs to; 0 for an uncoded mode.</summary>
    public long GroupId { get; }

    /// <summary>When the call was handed to the host (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long Sent { get; }

    public bool IsCompleted => IsSucceeded || IsFailed;

    public bool IsSucceeded { get; private set; }

    public bool IsFailed => Error is not null;

    public TAnswer? Result { get; private set; }

    public Exception? Error { get; private set; }

    public void Complete(TAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (IsCompleted)
        {
            return;
        }

        (IsSucceeded, Result) = (true, answer);
        Notify();
    }

    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (IsCompleted)
        {
            return;
        }

        Error = error;
        Notify();
    }

    /// <summary>Runs <paramref name="watcher"/> once the call completes (at once if it has).</summary>
    public void Watch(Action<WorkerDispatch<TWorker, TAnswer>> watcher)
    {
        if (IsCompleted)
        {
            watcher(this);
            return;
        }

        _watcher += watcher;
    }

    internal void OnCompleted(Action<WorkerDispatch<TWorker, TAnswer>> continuation) => _continuation += continuation;

    private void Notify()
    {
        var (continuation, watcher) = (_continuation, _watcher);
        (_continuation, _watcher) = (null, null);
        _bookkeeping?.Invoke(this);
        continuation?.Invoke(this);
        watcher?.Invoke(this);
    }
}
