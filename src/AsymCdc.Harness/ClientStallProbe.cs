using System.Diagnostics;
using System.Text.Json.Serialization;

namespace AsymCdc.Cli.Cluster;

/// <summary>Where a stall of the drill's own process was seen: a dedicated thread that woke late (the process was not
/// scheduled, or a garbage collection suspended it), or a thread-pool work item that started late (the pool, which runs
/// the client's continuations and hedge timers, was busy or short of threads).</summary>
public enum StallKind
{
    Process,
    ThreadPool,
}

/// <summary>One stall of the drill's client process: when it began (ms after the load began), how long it was, and how
/// much of it the process spent paused for garbage collection.</summary>
public readonly record struct ClientStall(
    [property: JsonPropertyName("at_ms")] double AtMs,
    [property: JsonPropertyName("ms")] double Ms,
    [property: JsonPropertyName("gc_ms")] double GcMs,
    [property: JsonPropertyName("kind"), JsonConverter(typeof(JsonStringEnumConverter<StallKind>))] StallKind Kind)
{
    /// <summary>How long, within [<paramref name="fromMs"/>, <paramref name="toMs"/>), the process was in at least one
    /// of <paramref name="stalls"/> (overlapping stalls of both kinds count once).</summary>
    public static double StalledMs(IEnumerable<ClientStall> stalls, double fromMs, double toMs)
    {
        double total = 0, coveredTo = fromMs;
        foreach (var s in stalls.Where(s => s.AtMs < toMs && s.AtMs + s.Ms > fromMs).OrderBy(s => s.AtMs))
        {
            var from = Math.Max(coveredTo, s.AtMs);
            var to = Math.Min(toMs, s.AtMs + s.Ms);
            if (to > from)
            {
                total += to - from;
                coveredTo = to;
            }
        }

        return Math.Round(total, 1);
    }
}

/// <summary>
/// Watches the load generator itself during a drill. Every process of a drill on one machine shares its cores, so a slow
/// answer can be the client's own stall (its hedge timers and continuations did not run), not the cluster's. A dedicated
/// thread sleeps 1 ms in a loop and records every wake-up later than the threshold, with the garbage-collection pause
/// time that passed meanwhile; every 5 ms it also queues one work item on the thread pool and records the item's start
/// if it is later than the threshold. The per-answer cost is nothing: the probe touches no call.
/// </summary>
public sealed class ClientStallProbe : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan PoolProbeEvery = TimeSpan.FromMilliseconds(5);

    private readonly long _start;
    private readonly double _thresholdMs;
    private readonly List<ClientStall> _stalls = [];
    private readonly Thread _thread;
    private readonly GcTotals _gcAtStart = GcTotals.Now();
    private volatile bool _stopped;
    private int _poolProbeOut;

    /// <param name="start">The load's start (a <see cref="Stopwatch"/> timestamp): stall times are ms after it.</param>
    /// <param name="threshold">The shortest lateness recorded.</param>
    public ClientStallProbe(long start, TimeSpan threshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(threshold, TimeSpan.Zero);
        _start = start;
        _thresholdMs = threshold.TotalMilliseconds;
        _thread = new Thread(Watch) { IsBackground = true, Name = "asymcdc-stall-probe" };
        _thread.Start();
    }

    /// <summary>The stalls seen so far, in the order they were recorded.</summary>
    public IReadOnlyList<ClientStall> Stalls
    {
        get
        {
            lock (_stalls)
            {
                return [.. _stalls];
            }
        }
    }

    /// <summary>Garbage collections and their pause time since the probe started.</summary>
    public GcTotals GcSinceStart => GcTotals.Now() - _gcAtStart;

    /// <summary>Stops the probe's thread (at once: within one tick); safe to call twice.</summary>
    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    private void Watch()
    {
        var lastPoolProbe = Stopwatch.GetTimestamp();
        while (!_stopped)
        {
            var before = Stopwatch.GetTimestamp();
            var gcBefore = GC.GetTotalPauseDuration();
            Thread.Sleep(Tick);
            var late = Stopwatch.GetElapsedTime(before) - Tick;
            if (late.TotalMilliseconds >= _thresholdMs)
            {
                Record(before, late, GC.GetTotalPauseDuration() - gcBefore, StallKind.Process);
            }

            if (Stopwatch.GetElapsedTime(lastPoolProbe) >= PoolProbeEvery && Interlocked.Exchange(ref _poolProbeOut, 1) == 0)
            {
                lastPoolProbe = Stopwatch.GetTimestamp();
                ThreadPool.UnsafeQueueUserWorkItem(static state => state.Probe.PoolItemStarted(state.Queued, state.Gc),
                    (Probe: this, Queued: lastPoolProbe, Gc: GC.GetTotalPauseDuration()), preferLocal: false);
            }
        }
    }

    private void PoolItemStarted(long queued, TimeSpan gcWhenQueued)
    {
        var late = Stopwatch.GetElapsedTime(queued);
        if (late.TotalMilliseconds >= _thresholdMs)
        {
            Record(queued, late, GC.GetTotalPauseDuration() - gcWhenQueued, StallKind.ThreadPool);
        }

        Volatile.Write(ref _poolProbeOut, 0);
    }

    private void Record(long began, TimeSpan length, TimeSpan gc, StallKind kind)
    {
        var stall = new ClientStall(Math.Round(Stopwatch.GetElapsedTime(_start, began).TotalMilliseconds, 1), Math.Round(length.TotalMilliseconds, 1),
            Math.Round(gc.TotalMilliseconds, 1), kind);
        lock (_stalls)
        {
            _stalls.Add(stall);
        }
    }
}

/// <summary>Collections per generation and the total pause time of this process's garbage collector.</summary>
public readonly record struct GcTotals(
    [property: JsonPropertyName("gen0")] int Gen0,
    [property: JsonPropertyName("gen1")] int Gen1,
    [property: JsonPropertyName("gen2")] int Gen2,
    [property: JsonPropertyName("pause_ms")] double PauseMs)
{
    public static GcTotals Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration().TotalMilliseconds);

    public static GcTotals operator -(GcTotals a, GcTotals b) =>
        new(a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, Math.Round(a.PauseMs - b.PauseMs, 1));
}
