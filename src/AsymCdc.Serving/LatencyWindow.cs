namespace AsymCdc.Serving;

/// <summary>The last <see cref="Capacity"/> observed latencies and a percentile over them, for hedged requests
/// ("The Tail at Scale": fire the backup after, e.g., the p95): the parity group's hedged baseline and the client's
/// hedge (<c>ClientHedging</c>). The percentile is recomputed every <see cref="RecomputeEvery"/> samples, not per query.
/// Not thread-safe: a caller shared by threads records under its own lock.</summary>
public sealed class LatencyWindow
{
    public const int Capacity = 512;
    public const int RecomputeEvery = 32;

    private readonly double[] _samples = new double[Capacity];
    private readonly double[] _sorted = new double[Capacity];
    private readonly double _percentile;
    private int _count;
    private int _next;
    private long _recorded;
    private double _cached;

    public LatencyWindow(double percentile)
    {
        if (percentile is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a hedging percentile must be in (0, 1), e.g. 0.95");
        }

        _percentile = percentile;
    }

    public int Count => _count;

    public void Record(double milliseconds)
    {
        _samples[_next] = milliseconds;
        _next = (_next + 1) % Capacity;
        _count = Math.Min(_count + 1, Capacity);
        // While the window is young every sample moves the percentile; after that, every RecomputeEvery-th.
        if (++_recorded % RecomputeEvery == 0 || _count < RecomputeEvery)
        {
            Array.Copy(_samples, _sorted, _count);
            Array.Sort(_sorted, 0, _count);
            _cached = _sorted[Math.Min(_count - 1, (int)Math.Ceiling(_percentile * _count) - 1)];
        }
    }

    /// <summary>The percentile in milliseconds, or <paramref name="fallback"/> before any sample.</summary>
    public double Percentile(double fallback) => _count == 0 ? fallback : _cached;
}
