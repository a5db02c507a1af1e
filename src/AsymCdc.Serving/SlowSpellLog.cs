namespace AsymCdc.Serving;

/// <summary>
/// How loudly slow-worker verdicts are logged. A worker's first slow spell is a warning, and so is its next one once
/// <see cref="Quiet"/> has passed since its last warning; the spells between — an overloaded fleet flips workers slow
/// and back many times a second — are counted and go to Debug, and the next warning says how many there were. A
/// recovery is worth Information only where its spell's start was warned of. Thread-safe.
/// </summary>
public sealed class SlowSpellLog<TWorker>
    where TWorker : notnull
{
    private readonly Dictionary<TWorker, Entry> _workers = [];
    private readonly TimeProvider _time;

    public SlowSpellLog(TimeProvider time, TimeSpan quiet)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(quiet, TimeSpan.Zero);
        (_time, Quiet) = (time, quiet);
    }

    /// <summary>The least time between two warnings about one worker.</summary>
    public TimeSpan Quiet { get; }

    /// <summary>A slow spell of <paramref name="worker"/> began: whether to warn, how many spells began unwarned since its
    /// last warning, and how long ago that was (zero for its first).</summary>
    public (bool Warn, int Unwarned, TimeSpan SinceWarning) SpellBegan(TWorker worker)
    {
        var now = _time.GetTimestamp();
        lock (_workers)
        {
            if (!_workers.TryGetValue(worker, out var entry))
            {
                _workers[worker] = new Entry { WarnedAt = now, SpellWarned = true };
                return (true, 0, TimeSpan.Zero);
            }

            var since = _time.GetElapsedTime(entry.WarnedAt, now);
            if (since < Quiet)
            {
                entry.Unwarned++;
                entry.SpellWarned = false;
                return (false, entry.Unwarned, since);
            }

            var unwarned = entry.Unwarned;
            (entry.WarnedAt, entry.Unwarned, entry.SpellWarned) = (now, 0, true);
            return (true, unwarned, since);
        }
    }

    /// <summary>The spell of <paramref name="worker"/> ended: whether its start was warned of (its recovery is then
    /// worth saying as loudly).</summary>
    public bool SpellEnded(TWorker worker)
    {
        lock (_workers)
        {
            return !_workers.TryGetValue(worker, out var entry) || entry.SpellWarned;
        }
    }

    /// <summary>The worker left the cluster.</summary>
    public void Forget(TWorker worker)
    {
        lock (_workers)
        {
            _workers.Remove(worker);
        }
    }

    private sealed class Entry
    {
        public long WarnedAt { get; set; }

        public int Unwarned { get; set; }

        public bool SpellWarned { get; set; }
    }
}
