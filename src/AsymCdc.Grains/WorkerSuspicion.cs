using System.Collections.Concurrent;
using AsymCdc.Abstractions;
using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// This silo's own fast failure detector for worker silos. Orleans membership declares a crashed silo dead only after
/// missed probes and votes (seconds); until then calls already sent to it wait, while a new call fails at once with a
/// message rejection (connection refused). The first such rejection makes the silo a <em>suspect</em>: calls still
/// waiting on it are released at once with <see cref="PredictionErrorCode.Unavailable"/> (their queries decode from the
/// rest of their groups now instead of at the straggler deadline), and <see cref="WorkerDirectory.Pick"/> stops choosing
/// it. After <c>probation</c> it is tried again; an answer to a call sent since the suspicion began clears it (a
/// backlog answering does not: <see cref="Answered"/>), another rejection makes it a
/// suspect again for twice as long (a circuit breaker's back-off, up to <see cref="MaxBackoff"/> × the probation): a
/// crashed silo is then left alone until membership declares it dead, instead of being tried every probation (and,
/// once its replacement listens on the same port, having calls wait on the dead incarnation until that declaration).
/// Membership stays the authority on who is in the cluster; this only decides whom this silo calls.
/// </summary>
public sealed class WorkerSuspicion(TimeProvider time, TimeSpan probation)
{
    /// <summary>The longest probation, as a multiple of the first.</summary>
    public const int MaxBackoff = 8;

    private readonly ConcurrentDictionary<SiloAddress, Suspicion> _suspicions = new();
    private readonly ConcurrentDictionary<SiloAddress, TaskCompletionSource> _unreachable = new();

    public TimeSpan Probation { get; } = probation > TimeSpan.Zero
        ? probation
        : throw new ArgumentOutOfRangeException(nameof(probation), probation, "the probation period must be positive");

    /// <summary>Raised with the silo and its probation when it becomes a suspect (not when a suspicion is renewed).</summary>
    public event Action<SiloAddress, TimeSpan, Exception>? Suspected;

    /// <summary>Silos under suspicion now (probation not yet over). Free while nobody is suspected: every group asks.</summary>
    public int Count
    {
        get
        {
            if (_suspicions.IsEmpty)
            {
                return 0;
            }

            var count = 0;
            foreach (var (_, suspicion) in _suspicions)
            {
                count += IsOn(suspicion) ? 1 : 0;
            }

            return count;
        }
    }

    public bool IsSuspected(SiloAddress silo) => _suspicions.TryGetValue(silo, out var suspicion) && IsOn(suspicion);

    /// <summary>The probation of a suspicion with this many consecutive strikes: doubled with each, up to
    /// <see cref="MaxBackoff"/> × <see cref="Probation"/>.</summary>
    public TimeSpan ProbationAfter(int strikes) => Probation * Math.Min(1 << Math.Clamp(strikes - 1, 0, 30), MaxBackoff);

    /// <summary>
    /// <paramref name="call"/> to <paramref name="silo"/>, released early with a retryable
    /// <see cref="PredictionException"/> when the silo is or becomes a suspect. Its outcome feeds the detector: a
    /// message rejection about that silo (a <see cref="SiloUnavailableException"/>, or an
    /// <see cref="OrleansMessageRejectionException"/> that names it: connection refused) makes it a suspect, an answer
    /// to a call sent since clears it (<see cref="Answered"/>).
    /// </summary>
    public async Task<T> Watch<T>(SiloAddress silo, Task<T> call)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(call);
        var sent = time.GetTimestamp();
        if (!call.IsCompleted)
        {
            var unreachable = WhenUnreachable(silo);
            if (await Task.WhenAny(call, unreachable) != call)
            {
                // The call goes on without us: observe a failure, and note a late answer (it clears the suspicion
                // only where the call was sent to a silo already suspected, as a pick short of others does).
                _ = call.ContinueWith((t, state) => Observe(((WorkerSuspicion, SiloAddress, long))state!, t), (this, silo, sent),
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw UnreachableError(silo);
            }
        }

        try
        {
            var answer = await call;
            Answered(silo, sent);
            return answer;
        }
        catch (OrleansMessageRejectionException e) when (IsAbout(e, silo))
        {
            ReportUnreachable(silo, e);
            throw;
        }
    }

    /// <summary>Completes when <paramref name="silo"/> becomes a suspect (at once when it is one).</summary>
    public Task WhenUnreachable(SiloAddress silo) => IsSuspected(silo)
        ? Task.CompletedTask
        : _unreachable.GetOrAdd(silo, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>A call to <paramref name="silo"/> was rejected: suspect it (again) and release every call waiting on it.</summary>
    public void ReportUnreachable(SiloAddress silo, Exception reason)
    {
        var now = time.GetTimestamp();
        var renewed = false;
        // Within the probation a rejection renews it (calls that were already out); after it, with no answer in
        // between, it is the next strike.
        var suspicion = _suspicions.AddOrUpdate(silo, new Suspicion(now, 1), (_, current) =>
        {
            renewed = IsOn(current);
            return new Suspicion(now, renewed ? current.Strikes : current.Strikes + 1);
        });
        if (_unreachable.TryRemove(silo, out var waiting))
        {
            waiting.TrySetResult();
        }

        if (!renewed)
        {
            Suspected?.Invoke(silo, ProbationAfter(suspicion.Strikes), reason);
        }
    }

    /// <summary>
    /// An answer came from <paramref name="silo"/> to a call sent at <paramref name="sentAt"/> (a timestamp of this
    /// detector's clock): it takes calls, and its strikes are forgotten — unless the call was sent before the suspicion
    /// began. A backlog answered after a refusal (a leaving silo finishing its calls, a frozen one thawing) says
    /// nothing about new calls; those decide once its probation is over (as the client's <c>FrontendSuspicion</c>).
    /// </summary>
    public void Answered(SiloAddress silo, long sentAt)
    {
        if (!_suspicions.IsEmpty && _suspicions.TryGetValue(silo, out var suspicion) && sentAt >= suspicion.Since)
        {
            // Only this suspicion: one renewed meanwhile by a newer refusal stays.
            _suspicions.TryRemove(KeyValuePair.Create(silo, suspicion));
        }
    }

    /// <summary>Membership no longer lists <paramref name="silo"/> as active: drop what is kept about it and release its
    /// waiting calls (Orleans fails them too, but not always at once).</summary>
    public void Forget(SiloAddress silo)
    {
        _suspicions.TryRemove(silo, out _);
        if (_unreachable.TryRemove(silo, out var waiting))
        {
            waiting.TrySetResult();
        }
    }

    /// <summary>Silos this detector keeps anything about (for pruning against membership).</summary>
    public IEnumerable<SiloAddress> Known => _suspicions.Keys.Union(_unreachable.Keys);

    private bool IsOn(Suspicion suspicion) => time.GetElapsedTime(suspicion.Since) < ProbationAfter(suspicion.Strikes);

    private static void Observe((WorkerSuspicion Detector, SiloAddress Silo, long Sent) state, Task call)
    {
        if (call.IsCompletedSuccessfully)
        {
            state.Detector.Answered(state.Silo, state.Sent);
        }
        else
        {
            _ = call.Exception;
        }
    }

    /// <summary>Whether a rejection is about <paramref name="silo"/> itself: Orleans says so with
    /// <see cref="SiloUnavailableException"/> (membership declared the target dead) or names the silo it could not
    /// connect to. A rejection that names another silo (a directory or placement step that needed a dead third silo)
    /// says nothing about this one.</summary>
    private static bool IsAbout(OrleansMessageRejectionException rejection, SiloAddress silo) =>
        rejection is SiloUnavailableException || rejection.Message.Contains(silo.ToString(), StringComparison.Ordinal);

    private static PredictionException UnreachableError(SiloAddress silo) => new(PredictionErrorCode.Unavailable,
        $"worker silo {silo} is unreachable (a call to it was just rejected); the query may be retried");

    /// <summary>Since when a silo is suspected, and how many consecutive probations it has failed (1 = the first).</summary>
    private readonly record struct Suspicion(long Since, int Strikes);
}
