namespace AsymCdc.Serving;

/// <summary>What a policy reports as it serves: the host turns it into metrics, logs and spans. Every method is called
/// on the policy's thread and must not call back into it.</summary>
public interface IServingObserver<TWorker>
{
    void WorkerCallSent(CallRole role);

    /// <summary>A worker call completed <paramref name="elapsed"/> after it was sent (failed ones too): the host's
    /// <see cref="SlowWorkerDetector{TWorker}"/> learns from it.</summary>
    void CallCompleted(TWorker worker, TimeSpan elapsed, bool succeeded);

    /// <summary>A query's own answer missed its straggler deadline (or its call failed): a hedge or a decode follows.</summary>
    void StragglerDetected();

    /// <summary>The encoder is about to run over <paramref name="members"/> inputs; the scope ends when it has.</summary>
    IDisposable? Encoding(long groupId, int members);

    /// <summary>A group was sealed: <paramref name="partial"/> with fewer than k members, <paramref name="parity"/> with its
    /// parity sent (false: <c>auto</c>'s redundancy budget could not pay for it).</summary>
    void GroupFormed(bool partial, bool parity);

    void MemberMissed(long groupId, int index, TWorker worker, bool failed);

    void MemberLost(long groupId, int index, string? reason);

    void DecodeFailed(long groupId, int index, Exception error);

    void Decoded(TimeSpan elapsed);

    /// <summary><c>auto</c> changed the mode serving new queries, for the reason given.</summary>
    void AutoChose(string mode, string why);
}

/// <summary>Reports nothing.</summary>
public sealed class NullServingObserver<TWorker> : IServingObserver<TWorker>
{
    public static readonly NullServingObserver<TWorker> Instance = new();

    public void WorkerCallSent(CallRole role)
    {
    }

    public void CallCompleted(TWorker worker, TimeSpan elapsed, bool succeeded)
    {
    }

    public void StragglerDetected()
    {
    }

    public IDisposable? Encoding(long groupId, int members) => null;

    public void GroupFormed(bool partial, bool parity)
    {
    }

    public void MemberMissed(long groupId, int index, TWorker worker, bool failed)
    {
    }

    public void MemberLost(long groupId, int index, string? reason)
    {
    }

    public void DecodeFailed(long groupId, int index, Exception error)
    {
    }

    public void Decoded(TimeSpan elapsed)
    {
    }

    public void AutoChose(string mode, string why)
    {
    }
}
