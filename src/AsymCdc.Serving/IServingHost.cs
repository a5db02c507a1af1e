namespace AsymCdc.Serving;

/// <summary>
/// What a policy needs from whatever carries it (the parity-group grain, the simulator): a clock and timers, the
/// workers, and the two ways out — "send this input to worker w" and "decode this member of this group". Every
/// callback the host makes into the policy (a call's or a decode's completion, a timer) must run on the policy's
/// thread, one at a time.
/// </summary>
public interface IServingHost<TWorker, TAnswer>
    where TAnswer : class
{
    /// <summary>The policy's clock; its timers must call back on the policy's thread.</summary>
    TimeProvider Time { get; }

    /// <summary><paramref name="count"/> workers, distinct where enough are alive (see <see cref="WorkerPicker{TWorker}"/>).</summary>
    TWorker[] Pick(int count);

    /// <summary>Starts the call; its outcome comes back through <see cref="WorkerDispatch{TWorker,TAnswer}.Complete"/>
    /// or <see cref="WorkerDispatch{TWorker,TAnswer}.Fail"/>.</summary>
    void Send(WorkerDispatch<TWorker, TAnswer> call);

    /// <summary>Starts a decode; its outcome comes back through <see cref="DecodeJob{TWorker,TAnswer}.Complete"/> or
    /// <see cref="DecodeJob{TWorker,TAnswer}.Fail"/>.</summary>
    void Decode(DecodeJob<TWorker, TAnswer> job);
}

/// <summary>
/// Y_i = D(Y_1..Y_{i-1}, Y_{i+1}..Y_k', Y_p): a reconstruction of member <see cref="Missing"/> of a sealed group from
/// the other members' answers and the parity's.
/// </summary>
public sealed class DecodeJob<TWorker, TAnswer>
    where TAnswer : class
{
    private readonly Action<DecodeJob<TWorker, TAnswer>> _continuation;

    internal DecodeJob(CodedGroup<TWorker, TAnswer> group, int missing, ServedQuery<TAnswer> query, long started,
        Action<DecodeJob<TWorker, TAnswer>> continuation)
    {
        (Group, Missing, Query, Started, _continuation) = (group, missing, query, started, continuation);
    }

    /// <summary>The query whose answer is rebuilt.</summary>
    public ServedQuery<TAnswer> Query { get; }

    public CodedGroup<TWorker, TAnswer> Group { get; }

    public int Missing { get; }

    public long Started { get; }

    public bool IsCompleted => Result is not null || Error is not null;

    public TAnswer? Result { get; private set; }

    public Exception? Error { get; private set; }

    /// <summary>The k' answers the decoder works from: member j's for j ≠ <see cref="Missing"/>, in member order.</summary>
    public TAnswer?[] DataAnswers()
    {
        var data = new TAnswer?[Group.Count];
        for (var j = 0; j < Group.Count; j++)
        {
            data[j] = j == Missing ? null : Group.Data[j].Result;
        }

        return data;
    }

    public TAnswer ParityAnswer => Group.Parity!.Result!;

    public void Complete(TAnswer reconstructed)
    {
        ArgumentNullException.ThrowIfNull(reconstructed);
        if (!IsCompleted)
        {
            Result = reconstructed;
            _continuation(this);
        }
    }

    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!IsCompleted)
        {
            Error = error;
            _continuation(this);
        }
    }
}
