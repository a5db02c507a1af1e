namespace AsymCdc.Serving;

/// <summary>
/// The adaptive straggler deadline of one silo: a quantile (default p95) of the worker service times this silo saw in
/// the last <see cref="Window"/>, clamped to [floor, cap]. A fast cluster gets a short deadline, so decoding starts
/// sooner; a uniformly slow one gets a long deadline, so it is not mistaken for stragglers and flooded with decodes.
/// Service times are recorded when each worker call completes, late ones included, so the quantile is not censored at
/// the deadline itself. Thread-safe: every parity-group activation of the silo shares it.
/// </summary>
public sealed class StragglerDeadline
{
    /// <summary>At most this many samples are kept (the newest); enough for a stable p95 at hundreds of calls/s.</summary>
    public const int Capacity = 1024;

    /// <summary>The quantile is re-sorted after this many new samples, not per query.</summary>
    public const int RecomputeEvery = 16;

    private readonly TimeProvider _time;
    private readonly double _quantile;
    private readonly TimeSpan _floor;
    private readonly TimeSpan _cap;
    private readonly TimeSpan _initial;
    private readonly long[] _stamps = new long[Capacity];
    private readonly double[] _samples = new double[Capacity];
    private readonly double[] _sorted = new double[Capacity];
    private readonly Lock _lock = new();
    private int _next;
    private int _count;
    private long _recorded;
    private long _oldestCounted;
    private TimeSpan _current;

    public StragglerDeadline(TimeProvider time, double quantile, TimeSpan floor, TimeSpan cap, TimeSpan window, TimeSpan initial)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (quantile is <= 0 or >= 1 || double.IsNaN(quantile))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "the deadline quantile must be in (0, 1), e.g. 0.95");
        }

        if (floor <= TimeSpan.Zero || cap < floor)
        {
            throw new ArgumentOutOfRangeException(nameof(cap), cap, $"the deadline needs 0 < floor ({floor}) <= cap");
        }

        if (window <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "the sample window must be positive");
        }

        (_time, _quantile, _floor, _cap, Window) = (time, quantile, floor, cap, window);
        _initial = Clamp(initial);
        _current = _initial;
    }

    /// <summary>Samples older than this no longer count.</summary>
    public TimeSpan Window { get; }

    /// <summary>Samples recorded within the window (as of the last recompute).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Records the service time of one completed worker call.</summary>
    public void Record(TimeSpan serviceTime)
    {
        lock (_lock)
        {
            _stamps[_next] = _time.GetTimestamp();
            _samples[_next] = serviceTime.TotalMilliseconds;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            // A young window moves with every sample; after that, every RecomputeEvery-th.
            if (++_recorded % RecomputeEvery == 0 || _count <= RecomputeEvery)
            {
                Recompute();
            }
        }
    }

    /// <summary>The deadline now: the quantile of the recent service times within [floor, cap].</summary>
    public TimeSpan Current
    {
        get
        {
            lock (_lock)
            {
                // The oldest sample counted has aged out: the window moved on even without new calls.
                if (_count > 0 && _time.GetElapsedTime(_oldestCounted) > Window)
                {
                    Recompute();
                }

                return _current;
            }
        }
    }

    private void Recompute()
    {
        var now = _time.GetTimestamp();
        var n = 0;
        var oldest = long.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            var slot = (_next - 1 - i + Capacity) % Capacity;
            if (_time.GetElapsedTime(_stamps[slot], now) > Window)
            {
                break; // slots are visited newest first: everything further back is older still
            }

            _sorted[n++] = _samples[slot];
            oldest = _stamps[slot];
        }

        _count = n;
        if (n == 0)
        {
            _current = _initial;
            return;
        }

        _oldestCounted = oldest;
        Array.Sort(_sorted, 0, n);
        var quantile = _sorted[Math.Clamp((int)Math.Ceiling(_quantile * n) - 1, 0, n - 1)];
        _current = Clamp(TimeSpan.FromMilliseconds(quantile));
    }

    private TimeSpan Clamp(TimeSpan value) => value < _floor ? _floor : value > _cap ? _cap : value;
}
