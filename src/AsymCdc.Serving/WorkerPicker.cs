namespace AsymCdc.Serving;

/// <summary>
/// Picks the workers of one query or group: round-robin over the live workers so that load spreads evenly, distinct
/// where at least that many are alive; suspected workers are passed over while enough others remain; workers that
/// joined recently (their first calls are slow) or are on trial after being slow go last (the parity slot of a group,
/// the backup of a hedge or replica), where a late answer holds up no query. With fewer workers than slots the list wraps (members share workers) rather than fail: a degraded group still
/// answers, it just loses failure independence. Thread-safe.
/// </summary>
public sealed class WorkerPicker<TWorker>
    where TWorker : notnull
{
    private long _cursor;

    /// <param name="workers">The live workers, in a stable order.</param>
    /// <param name="count">Slots to fill.</param>
    /// <param name="isSuspected">Null when no worker is suspected.</param>
    /// <param name="goesLast">Null when no worker is to go last (a newcomer, or a slow worker on trial).</param>
    /// <param name="isSlow">Null when no worker is slow; slow workers are passed over after the suspects, while enough
    /// others remain.</param>
    public TWorker[] Pick(TWorker[] workers, int count, Func<TWorker, bool>? isSuspected = null, Func<TWorker, bool>? goesLast = null,
        Func<TWorker, bool>? isSlow = null)
    {
        ArgumentNullException.ThrowIfNull(workers);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (workers.Length == 0)
        {
            throw new ArgumentException("there is no live worker to pick", nameof(workers));
        }

        workers = PassOver(workers, count, isSuspected);
        workers = PassOver(workers, count, isSlow);

        var start = Start(Interlocked.Increment(ref _cursor) - 1, count, workers.Length);
        var picked = new TWorker[count];
        for (var i = 0; i < count; i++)
        {
            picked[i] = workers[(start + i) % workers.Length];
        }

        if (goesLast is not null && count > 1)
        {
            PutLast(picked, goesLast);
        }

        return picked;
    }

    /// <summary>As <see cref="Pick(TWorker[], int, Func{TWorker, bool}?, Func{TWorker, bool}?, Func{TWorker, bool}?)"/>,
    /// with <paramref name="slowWorkers"/>' view: its slow workers passed over while enough others remain, and put last
    /// (with its workers on trial and those <paramref name="goesLast"/> names) where too few do, e.g. a group of k+1
    /// on k+1 workers: a slow worker then takes the parity slot, not a data slot. Null: no slow-worker detection.</summary>
    public TWorker[] Pick(TWorker[] workers, int count, Func<TWorker, bool>? isSuspected, Func<TWorker, bool>? goesLast,
        SlowWorkerDetector<TWorker>? slowWorkers)
    {
        if (slowWorkers is null || slowWorkers.SlowCount + slowWorkers.TrialCount == 0)
        {
            return Pick(workers, count, isSuspected, goesLast);
        }

        // A slow worker's probation ends inside IsSlow, which puts it on trial within this very pick.
        // Delegates made once by the detector: no allocation per pick unless goesLast also names workers.
        var isSlow = slowWorkers.SlowCount > 0 ? slowWorkers.IsSlowCheck : null;
        var last = isSlow is null ? slowWorkers.IsOnTrialCheck : slowWorkers.GoesLastCheck;
        return Pick(workers, count, isSuspected, goesLast is null ? last : w => goesLast(w) || last(w), isSlow);
    }

    /// <summary>The workers for which <paramref name="avoid"/> does not hold, when at least <paramref name="count"/> (or
    /// all) remain: with too few a group would share workers anyway, so every member's worker stays distinct instead.</summary>
    private static TWorker[] PassOver(TWorker[] workers, int count, Func<TWorker, bool>? avoid)
    {
        if (avoid is null)
        {
            return workers;
        }

        var kept = Array.FindAll(workers, w => !avoid(w));
        return kept.Length >= Math.Min(count, workers.Length) ? kept : workers;
    }

    /// <summary>
    /// The first slot of pick number <paramref name="pick"/>: consecutive picks take consecutive, disjoint runs of
    /// workers (x = pick·count), so that the groups of a burst do not pile onto the same workers; once the runs have
    /// come back to where they began (after lcm(count, workers) slots) they shift by one, so that every worker takes
    /// every slot (data, parity, backup) in turn even when <paramref name="count"/> and the number of workers share a
    /// factor.
    /// </summary>
    public static int Start(long pick, int count, int workers)
    {
        var x = (ulong)pick * (ulong)count;
        var cycle = (ulong)count / Gcd((ulong)count, (ulong)workers) * (ulong)workers;
        return (int)((x + (x / cycle)) % (ulong)workers);
    }

    private static ulong Gcd(ulong a, ulong b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }

    /// <summary>
    /// Reorders <paramref name="picked"/> in place, stably: workers for which <paramref name="goesLast"/> holds (a
    /// newcomer, a slow worker on trial) go last, so that a group's data slots go to seasoned workers and its last slot
    /// (the parity) to them.
    /// </summary>
    public static void PutLast(TWorker[] picked, Func<TWorker, bool> goesLast)
    {
        ArgumentNullException.ThrowIfNull(picked);
        ArgumentNullException.ThrowIfNull(goesLast);
        Span<bool> last = stackalloc bool[picked.Length];
        var seasoned = 0;
        for (var i = 0; i < picked.Length; i++)
        {
            last[i] = goesLast(picked[i]);
            seasoned += last[i] ? 0 : 1;
        }

        if (seasoned == picked.Length || seasoned == 0)
        {
            return;
        }

        var ordered = new TWorker[picked.Length];
        var (front, back) = (0, seasoned);
        for (var i = 0; i < picked.Length; i++)
        {
            ordered[last[i] ? back++ : front++] = picked[i];
        }

        ordered.CopyTo(picked, 0);
    }
}
