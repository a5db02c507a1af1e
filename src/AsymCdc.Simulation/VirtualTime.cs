namespace AsymCdc.Simulation;

/// <summary>
/// Virtual time: a clock that moves only from one scheduled event to the next, and the event queue that moves it.
/// Timers created through it (the serving policies' straggler deadlines, hedge delays, group windows) are events too,
/// so a policy driven by this <see cref="TimeProvider"/> runs exactly as it does on a real clock, only faster, and the
/// same seed gives the same run. Events at the same instant run in the order they were scheduled. Single-threaded.
/// </summary>
public sealed class VirtualTime : TimeProvider
{
    private static readonly DateTimeOffset s_epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly PriorityQueue<Scheduled, Key> _queue = new(1024, KeyComparer.Instance);
    private long _sequence;

    /// <summary>Now, in ticks (100 ns) since the start.</summary>
    public long Now { get; private set; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Now;

    public override DateTimeOffset GetUtcNow() => s_epoch.AddTicks(Now);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new VirtualTimer(this, callback, state, period);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Runs <paramref name="action"/> at <paramref name="ticks"/> (not before now).</summary>
    public void At(long ticks, Action<object?> action, object? state) =>
        Enqueue(new Scheduled(action, state), Math.Max(ticks, Now));

    /// <summary>Runs the next event; false when there is none.</summary>
    public bool Step()
    {
        while (_queue.TryDequeue(out var next, out var key))
        {
            if (next.Cancelled)
            {
                continue;
            }

            Now = key.Time;
            next.Action(next.State);
            return true;
        }

        return false;
    }

    private void Enqueue(Scheduled scheduled, long time) => _queue.Enqueue(scheduled, new Key(time, _sequence++));

    private readonly record struct Key(long Time, long Sequence);

    private sealed class KeyComparer : IComparer<Key>
    {
        public static readonly KeyComparer Instance = new();

        public int Compare(Key x, Key y)
        {
            var c = x.Time.CompareTo(y.Time);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }

    private sealed class Scheduled(Action<object?> action, object? state)
    {
        public Action<object?> Action { get; } = action;

        public object? State { get; } = state;

        public bool Cancelled { get; set; }
    }

    private sealed class VirtualTimer(VirtualTime time, TimerCallback callback, object? state, TimeSpan period) : ITimer
    {
        private Scheduled? _next;
        private TimeSpan _period = period;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_next is not null)
            {
                _next.Cancelled = true;
                _next = null;
            }

            _period = period;
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return true;
            }

            _next = new Scheduled(static s => ((VirtualTimer)s!).Fire(), this);
            time.Enqueue(_next, time.Now + Math.Max(0, dueTime.Ticks));
            return true;
        }

        public void Dispose()
        {
            if (_next is not null)
            {
                _next.Cancelled = true;
                _next = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Fire()
        {
            _next = null;
            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                Change(_period, _period);
            }

            callback(state);
        }
    }
}
