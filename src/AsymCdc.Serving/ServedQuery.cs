namespace AsymCdc.Serving;

/// <summary>How a policy answered a query.</summary>
public enum AnswerPath
{
    /// <summary>The query's own worker call (the first, or the primary of a hedge).</summary>
    Direct = 0,

    /// <summary>A second copy: the replica of replication or the backup of a hedge.</summary>
    Backup = 1,

    /// <summary>Decoded from the other members of its parity group.</summary>
    Reconstructed = 2,
}

/// <summary>Why a worker call was made; the slot it fills.</summary>
public enum CallRole
{
    Data = 0,
    Replica = 1,
    Hedge = 2,
    Parity = 3,
}

/// <summary>Why a query could not be answered: a message that names the problem and, where every call of the query
/// failed alike, the failure of the last one (the host passes a typed error through unchanged).</summary>
public sealed record QueryFailure(string Message, Exception? Cause, bool CauseIsTheAnswer);

/// <summary>
/// One query while a policy serves it. The policy answers it at most once (<see cref="TryAnswer"/> or
/// <see cref="TryFail"/>); <paramref name="onDone"/> then runs, on the policy's thread. Not thread-safe: a policy and
/// the queries it serves are touched by one thread at a time (a grain activation, the simulator's loop).
/// </summary>
public sealed class ServedQuery<TAnswer>(float[] input, Action<ServedQuery<TAnswer>>? onDone = null)
    where TAnswer : class
{
    /// <summary>The query's input, as the encoder sees it.</summary>
    public float[] Input { get; } = input;

    /// <summary>When the policy took the query (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long Started { get; internal set; }

    /// <summary>The parity group it joined; 0 for an uncoded mode.</summary>
    public long GroupId { get; internal set; }

    /// <summary>The worker that answered directly; default for a reconstruction or before the answer.</summary>
    public object? AnsweredBy { get; private set; }

    public bool IsDone { get; private set; }

    public TAnswer? Answer { get; private set; }

    public AnswerPath Path { get; private set; }

    public QueryFailure? Failure { get; private set; }

    /// <summary>For a reconstruction: registers a callback for the straggler's own answer, should it still arrive
    /// (shadow verification). Null otherwise.</summary>
    public Action<Action<TAnswer>>? WhenOwnAnswerArrives { get; internal set; }

    /// <summary>Caller-owned state (the grain's completion source, the simulator's arrival record).</summary>
    public object? State { get; set; }

    /// <summary>Runs when the query is answered or failed, before the caller's completion (a strategy's own bookkeeping).</summary>
    internal event Action<ServedQuery<TAnswer>>? OnAnswered;

    public bool TryAnswer(TAnswer answer, AnswerPath path, object? answeredBy)
    {
        if (IsDone)
        {
            return false;
        }

        (IsDone, Answer, Path, AnsweredBy) = (true, answer, path, answeredBy);
        OnAnswered?.Invoke(this);
        onDone?.Invoke(this);
        return true;
    }

    public bool TryFail(QueryFailure failure)
    {
        if (IsDone)
        {
            return false;
        }

        (IsDone, Failure) = (true, failure);
        OnAnswered?.Invoke(this);
        onDone?.Invoke(this);
        return true;
    }
}
