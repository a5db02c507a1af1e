namespace AsymCdc.Serving;

/// <summary>
/// Which workers are persistently slow: a worker whose median service time over its last <see cref="Samples"/> calls
/// is more than <see cref="Factor"/> times the fleet's (the median of the workers' medians) is slow until its median
/// comes back, or until it has been passed over for <see cref="Probation"/>, when it is tried again with a clean slate
/// <b>on trial</b> (<see cref="IsOnTrial"/>): the pickers give it only the last slot of a pick (a group's parity, a
/// hedge's backup, a second replica), where a late answer holds up no query, until 8 new calls have judged it healthy
/// or slow again. A median of 16 ignores rare independent stragglers (half of a worker's recent calls must be slow); a
/// slow node, a noisy neighbour or background load on one machine flips it within 8 calls. The pickers of every mode
/// (coded, hedged, replication) pass slow workers over while enough others remain, so the comparison between modes
/// stays fair. Thread-safe: a silo's policies share one.
/// </summary>
public sealed class SlowWorkerDetector<TWorker>
    where TWorker : notnull
{
    public const int Samples = 16;

    /// <summary>A worker's first calls, which are not judged: a worker that has just joined runs cold paths (JIT, an
    /// accelerator's first kernels) for a while, and passing it over for that would keep it cold.</summary>
    public const int ColdCalls = 32;

    private const int MinSamples = Samples / 2;
    private const int FleetEvery = 64;
    private readonly Dictionary<TWorker, Worker> _workers = [];
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private double _fleetMedian;
    private long _recorded;
    private int _slow;
    private int _onTrial;

    public SlowWorkerDetector(TimeProvider time, double factor = 3, TimeSpan? probation = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (factor <= 1 || double.IsNaN(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "a slow worker must be more than 1x the fleet's median");
        }

        (_time, Factor, Probation) = (time, factor, probation ?? TimeSpan.FromSeconds(1));
        (IsSlowCheck, IsOnTrialCheck) = (IsSlow, IsOnTrial);
        GoesLastCheck = worker => IsOnTrial(worker) || IsSlow(worker);
    }

    /// <summary><see cref="IsSlow"/> and <see cref="IsOnTrial"/> as delegates made once, for the pickers.</summary>
    internal Func<TWorker, bool> IsSlowCheck { get; }

    internal Func<TWorker, bool> IsOnTrialCheck { get; }

    /// <summary>On trial, or slow (where too few others remain to pass it over): the pickers put it last.</summary>
    internal Func<TWorker, bool> GoesLastCheck { get; }

    public double Factor { get; }

    public TimeSpan Probation { get; }

    /// <summary>Workers marked slow now (a hint for callers that skip the check when none is).</summary>
    public int SlowCount => Volatile.Read(ref _slow);

    /// <summary>Workers on trial now (a hint for callers that skip the check when none is).</summary>
    public int TrialCount => Volatile.Read(ref _onTrial);

    /// <summary>A worker became slow, went on trial or was judged healthy again. Raised outside the detector's lock, on
    /// the thread whose call or pick changed it; for logs and metrics.</summary>
    public event Action<TWorker, SlowWorkerChange>? Changed;

    /// <summary>A call to <paramref name="worker"/> answered after <paramref name="serviceTime"/>.</summary>
    public void Record(TWorker worker, TimeSpan serviceTime)
    {
        SlowWorkerState before, after;
        double median, fleet;
        lock (_lock)
        {
            if (!_workers.TryGetValue(worker, out var w))
            {
                _workers[worker] = w = new Worker();
            }

            before = w.State;
            Judge(w, serviceTime);
            (after, median, fleet) = (w.State, w.LastMedian, _fleetMedian);
        }

        if (before != after)
        {
            Changed?.Invoke(worker, new SlowWorkerChange(before, after, median, fleet));
        }
    }

    /// <summary>A call's service time: a worker's first calls are not judged; then its median against the fleet's.</summary>
    private void Judge(Worker w, TimeSpan serviceTime)
    {
        w.LastSeen = _time.GetTimestamp();
        if (++w.Seen <= ColdCalls)
        {
            return;
        }

        w.Add(serviceTime.TotalMilliseconds);
        var median = w.Count >= MinSamples ? w.Median() : 0;
        w.LastMedian = median;
        // The fleet's median moves slowly: re-sort it about once per call of every worker, not per call.
        if (++_recorded % Math.Max(FleetEvery, _workers.Count) == 0 || _fleetMedian == 0)
        {
            RecomputeFleet();
        }

        if (w.OnTrial)
        {
            if (w.Count < MinSamples)
            {
                return;
            }

            Try(w, false); // judged, one way or the other
        }

        Mark(w, _fleetMedian > 0 && median > Factor * _fleetMedian);
    }

    /// <summary>Whether <paramref name="worker"/> is slow now.</summary>
    public bool IsSlow(TWorker worker)
    {
        if (Volatile.Read(ref _slow) == 0)
        {
            return false;
        }

        double median, fleet;
        lock (_lock)
        {
            if (!_workers.TryGetValue(worker, out var w) || !w.Slow)
            {
                return false;
            }

            if (_time.GetElapsedTime(w.LastSeen) < Probation)
            {
                return true;
            }

            // Passed over long enough: try it again in the slots where lateness costs nothing, judged on new calls only.
            (median, fleet) = (w.LastMedian, _fleetMedian);
            w.Clear();
            Mark(w, false);
            Try(w, true);
        }

        Changed?.Invoke(worker, new SlowWorkerChange(SlowWorkerState.Slow, SlowWorkerState.OnTrial, median, fleet));
        return false;
    }

    /// <summary>Whether <paramref name="worker"/> is on trial: no longer slow, not yet judged healthy; pick it last.</summary>
    public bool IsOnTrial(TWorker worker)
    {
        if (Volatile.Read(ref _onTrial) == 0)
        {
            return false;
        }

        lock (_lock)
        {
            return _workers.TryGetValue(worker, out var w) && w.OnTrial;
        }
    }

    /// <summary>A worker left: forget it.</summary>
    public void Forget(TWorker worker)
    {
        lock (_lock)
        {
            if (_workers.Remove(worker, out var w))
            {
                Mark(w, false);
                Try(w, false);
            }
        }
    }

    private void Mark(Worker w, bool slow)
    {
        if (w.Slow != slow)
        {
            w.Slow = slow;
            _slow += slow ? 1 : -1;
        }
    }

    private void Try(Worker w, bool onTrial)
    {
        if (w.OnTrial != onTrial)
        {
            w.OnTrial = onTrial;
            _onTrial += onTrial ? 1 : -1;
        }
    }

    private void RecomputeFleet()
    {
        var medians = new List<double>(_workers.Count);
        foreach (var w in _workers.Values)
        {
            if (w.LastMedian > 0)
            {
                medians.Add(w.LastMedian);
            }
        }

        if (medians.Count > 0)
        {
            medians.Sort();
            _fleetMedian = medians[medians.Count / 2];
        }
    }

    private sealed class Worker
    {
        private readonly double[] _ring = new double[Samples];
        private readonly double[] _sorted = new double[Samples];
        private int _next;

        public int Count { get; private set; }

        public bool Slow { get; set; }

        public bool OnTrial { get; set; }

        public SlowWorkerState State => Slow ? SlowWorkerState.Slow : OnTrial ? SlowWorkerState.OnTrial : SlowWorkerState.Healthy;

        /// <summary>The median as of the worker's last call (0 before <c>MinSamples</c>).</summary>
        public double LastMedian { get; set; }

        public long LastSeen { get; set; }

        /// <summary>Calls recorded since the worker was first seen (not reset by a retry).</summary>
        public int Seen { get; set; }

        public void Add(double ms)
        {
            _ring[_next] = ms;
            _next = (_next + 1) % Samples;
            Count = Math.Min(Count + 1, Samples);
        }

        public void Clear() => (Count, _next, LastMedian) = (0, 0, 0);

        public double Median()
        {
            Array.Copy(_ring, _sorted, Count);
            Array.Sort(_sorted, 0, Count);
            return _sorted[Count / 2];
        }
    }
}

/// <summary>What a <see cref="SlowWorkerDetector{TWorker}"/> makes of a worker.</summary>
public enum SlowWorkerState
{
    /// <summary>Picked like any other.</summary>
    Healthy,

    /// <summary>Persistently slow: passed over while enough others remain, else given the last slot of a pick.</summary>
    Slow,

    /// <summary>Back after its probation, not yet judged: given the last slot of a pick.</summary>
    OnTrial,
}

/// <summary>A worker's state went <paramref name="From"/> → <paramref name="To"/>; its median service time over its
/// recent calls and the fleet's then (ms; 0 where not yet known).</summary>
public readonly record struct SlowWorkerChange(SlowWorkerState From, SlowWorkerState To, double MedianMs, double FleetMedianMs);
