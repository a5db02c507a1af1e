using System.Collections.Concurrent;

namespace AsymCdc.Client;

/// <summary>
/// The client's view of which frontend silos have stopped answering, from the answers it gets (each names its frontend,
/// <c>Prediction.Frontend</c>). A frontend is suspected when a hedge overtook a call it had and it has answered no call
/// at all since that call was sent: a live frontend under load answers other calls meanwhile, a dead or frozen one does
/// not. A suspect is avoided for the probation, and the calls still out through it are sent again at once
/// (<see cref="NextSuspicion"/>): they too would wait for their deadline. After the probation it is on trial, as a
/// circuit breaker is half-open: one call goes through it (<see cref="TryTrial"/>) while the others still avoid it. An
/// answer to a call sent since it was suspected clears it; the trial's hedge winning again, or the trial call ending
/// without an answer from it (<see cref="TrialEnded"/>), starts a new probation; while the trial call is out the suspect
/// stays avoided, however long its hedge waits for the budget. A trial period with no trial call (no slot of the client
/// enters it any more) ends the suspicion. So a freeze longer than the probation costs one call per probation, not half
/// of the calls sent after it. Times are
/// <see cref="System.Diagnostics.Stopwatch"/> timestamps, passed in, so the rule is a pure function of what happened when.
/// </summary>
public sealed class FrontendSuspicion(TimeSpan probation)
{
    private readonly long _probation = (long)(probation.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    private readonly ConcurrentDictionary<string, Frontend> _frontends = new(StringComparer.Ordinal);
    private long _lastSuspicionEnds = long.MinValue;
    private long _trialsOut;
    private long _suspicions;
    private TaskCompletionSource _next = NewSignal();

    /// <summary>Completes when a frontend that was not suspected becomes suspected (after this was read).</summary>
    public Task NextSuspicion => Volatile.Read(ref _next).Task;

    /// <summary>Times a frontend that was not suspected became suspected.</summary>
    public long Suspicions => Interlocked.Read(ref _suspicions);

    /// <summary>A call sent at <paramref name="sent"/> through <paramref name="frontend"/> was answered at
    /// <paramref name="now"/>; if it was sent since the frontend became suspected, the frontend is cleared.</summary>
    public void Answered(string frontend, long sent, long now)
    {
        var state = _frontends.GetOrAdd(frontend, static _ => new Frontend());
        if (Volatile.Read(ref state.LastAnswer) < now)
        {
            Volatile.Write(ref state.LastAnswer, now);
        }

        if (Volatile.Read(ref state.SuspectedUntil) != long.MinValue && sent >= Volatile.Read(ref state.SuspectedAt))
        {
            Volatile.Write(ref state.SuspectedUntil, long.MinValue);
        }
    }

    /// <summary>A hedge answered first for a call sent at <paramref name="sent"/> through <paramref name="frontend"/>
    /// (null when the client did not know it yet). Says whether that made it a suspect, or kept it one longer.</summary>
    public SuspicionChange HedgeWon(string? frontend, long sent, long now)
    {
        if (frontend is null)
        {
            return SuspicionChange.None;
        }

        var state = _frontends.GetOrAdd(frontend, static _ => new Frontend());
        if (Volatile.Read(ref state.LastAnswer) >= sent)
        {
            return SuspicionChange.None;
        }

        var wasSuspected = IsSuspected(state, now);
        if (!wasSuspected)
        {
            Volatile.Write(ref state.SuspectedAt, now);
        }

        var ends = now + _probation;
        Volatile.Write(ref state.SuspectedUntil, ends);
        SuspicionLastsUntil(ends + _probation);
        if (wasSuspected)
        {
            return SuspicionChange.Extended;
        }

        Interlocked.Increment(ref _suspicions);
        Interlocked.Exchange(ref _next, NewSignal()).TrySetResult();
        return SuspicionChange.New;
    }

    /// <summary>Whether any frontend may be suspected at <paramref name="now"/> (two reads: the common answer is no; a yes
    /// may be one already cleared).</summary>
    public bool Any(long now) => Volatile.Read(ref _lastSuspicionEnds) > now || Interlocked.Read(ref _trialsOut) > 0;

    /// <summary>Whether any frontend is suspected at <paramref name="now"/>, on probation or on trial.</summary>
    public bool AnySuspected(long now) => Any(now) && _frontends.Values.Any(state => IsSuspected(state, now));

    /// <summary>Whether calls should avoid <paramref name="frontend"/> at <paramref name="now"/> (on probation, or on
    /// trial with its trial call taken); an unknown one is not suspected.</summary>
    public bool IsSuspected(string? frontend, long now) =>
        frontend is not null && _frontends.TryGetValue(frontend, out var state) && IsSuspected(state, now);

    /// <summary>Whether the call about to go through <paramref name="frontend"/> is its trial: true once per probation,
    /// for the first call that asks after it ended. A trial's caller reports its end with <see cref="TrialEnded"/>,
    /// passing <paramref name="trial"/>.</summary>
    public bool TryTrial(string? frontend, long now, out long trial)
    {
        trial = long.MinValue;
        if (frontend is null || !_frontends.TryGetValue(frontend, out var state))
        {
            return false;
        }

        var until = Volatile.Read(ref state.SuspectedUntil);
        if (until == long.MinValue || now < until || now >= until + _probation)
        {
            return false;
        }

        var last = Volatile.Read(ref state.TrialAfter);
        if (last >= until || Interlocked.CompareExchange(ref state.TrialAfter, until, last) != last)
        {
            return false;
        }

        Interlocked.Increment(ref _trialsOut);
        trial = until;
        return true;
    }

    /// <summary>The trial call <paramref name="trial"/> (from <see cref="TryTrial"/>) through <paramref name="frontend"/>
    /// ended at <paramref name="now"/>, answered or not. Unless its answer cleared the frontend or its hedge's win started
    /// a new probation, the frontend did not answer it (the call failed, or another frontend answered without a hedge's
    /// win showing it): a new probation starts.</summary>
    public void TrialEnded(string frontend, long trial, long now)
    {
        Interlocked.Decrement(ref _trialsOut);
        if (_frontends.TryGetValue(frontend, out var state)
            && Interlocked.CompareExchange(ref state.SuspectedUntil, now + _probation, trial) == trial)
        {
            SuspicionLastsUntil(now + 2 * _probation);
        }
    }

    private bool IsSuspected(Frontend state, long now)
    {
        var until = Volatile.Read(ref state.SuspectedUntil);
        // On trial with the trial call out: avoided until that call's end decides (TrialEnded).
        return until != long.MinValue && (now < until + _probation || Volatile.Read(ref state.TrialAfter) == until);
    }

    private void SuspicionLastsUntil(long end)
    {
        var last = Volatile.Read(ref _lastSuspicionEnds);
        while (last < end)
        {
            var seen = Interlocked.CompareExchange(ref _lastSuspicionEnds, end, last);
            if (seen == last)
            {
                break;
            }

            last = seen;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Frontend
    {
        public long LastAnswer = long.MinValue;

        /// <summary>When the current suspicion began.</summary>
        public long SuspectedAt = long.MinValue;

        /// <summary>The end of its probation (MinValue: not suspected); it is on trial for one more probation after.</summary>
        public long SuspectedUntil = long.MinValue;

        /// <summary>The probation end whose trial call has gone out.</summary>
        public long TrialAfter = long.MinValue;
    }
}

/// <summary>What a hedge's win did to the suspicion of the frontend it overtook.</summary>
public enum SuspicionChange
{
    /// <summary>Nothing: the frontend answered other calls meanwhile, or the client did not know it.</summary>
    None,

    /// <summary>It became a suspect.</summary>
    New,

    /// <summary>It was a suspect already (on probation or on trial); its probation starts again.</summary>
    Extended,
}
