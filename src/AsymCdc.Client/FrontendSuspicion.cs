using System.Collections.Concurrent;

namespace AsymCdc.Client;

/// <summary>
/// The client's view of which frontend silos have stopped answering, from the answers it gets (each names its frontend,
/// <c>Prediction.Frontend</c>). A frontend is suspected when a hedge overtook a call it had and it has answered no call
/// at all since that call was sent: a live frontend under load answers other calls meanwhile, a dead or frozen one does
/// not. A suspect is avoided for the probation, then tried again, and the calls still out through it are sent again at
/// once (<see cref="NextSuspicion"/>): they too would wait for their deadline. Times are <see cref="System.Diagnostics.Stopwatch"/>
/// timestamps, passed in, so the rule is a pure function of what happened when.
/// </summary>
public sealed class FrontendSuspicion(TimeSpan probation)
{
    private readonly long _probation = (long)(probation.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    private readonly ConcurrentDictionary<string, Frontend> _frontends = new(StringComparer.Ordinal);
    private long _lastSuspicionEnds = long.MinValue;
    private long _suspicions;
    private TaskCompletionSource _next = NewSignal();

    /// <summary>Completes when a frontend that was not suspected becomes suspected (after this was read).</summary>
    public Task NextSuspicion => Volatile.Read(ref _next).Task;

    /// <summary>Times a frontend that was not suspected became suspected.</summary>
    public long Suspicions => Interlocked.Read(ref _suspicions);

    /// <summary>A call through <paramref name="frontend"/> was answered at <paramref name="now"/>.</summary>
    public void Answered(string frontend, long now)
    {
        var state = _frontends.GetOrAdd(frontend, static _ => new Frontend());
        if (Volatile.Read(ref state.LastAnswer) < now)
        {
            Volatile.Write(ref state.LastAnswer, now);
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

        var ends = now + _probation;
        var wasSuspected = Volatile.Read(ref state.SuspectedUntil) > now;
        Volatile.Write(ref state.SuspectedUntil, ends);
        var last = Volatile.Read(ref _lastSuspicionEnds);
        while (last < ends)
        {
            var seen = Interlocked.CompareExchange(ref _lastSuspicionEnds, ends, last);
            if (seen == last)
            {
                break;
            }

            last = seen;
        }

        if (wasSuspected)
        {
            return SuspicionChange.Extended;
        }

        Interlocked.Increment(ref _suspicions);
        Interlocked.Exchange(ref _next, NewSignal()).TrySetResult();
        return SuspicionChange.New;
    }

    /// <summary>Whether any frontend is suspected at <paramref name="now"/> (one read: the common answer is no).</summary>
    public bool Any(long now) => Volatile.Read(ref _lastSuspicionEnds) > now;

    /// <summary>Whether calls should avoid <paramref name="frontend"/> at <paramref name="now"/>; an unknown one is not suspected.</summary>
    public bool IsSuspected(string? frontend, long now) =>
        frontend is not null && _frontends.TryGetValue(frontend, out var state) && Volatile.Read(ref state.SuspectedUntil) > now;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Frontend
    {
        public long LastAnswer = long.MinValue;
        public long SuspectedUntil = long.MinValue;
    }
}

/// <summary>What a hedge's win did to the suspicion of the frontend it overtook.</summary>
public enum SuspicionChange
{
    /// <summary>Nothing: the frontend answered other calls meanwhile, or the client did not know it.</summary>
    None,

    /// <summary>It became a suspect.</summary>
    New,

    /// <summary>It was a suspect already; its probation starts again.</summary>
    Extended,
}
