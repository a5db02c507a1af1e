namespace AsymCdc.Serving;

/// <summary>
/// When a query's own answer counts as late (its straggler deadline), so that a hedge fires or a decode starts.
/// Fixed: the configured deadline, raised when asked to at least a multiple of the recent median of own answers
/// (answers censored at the deadline bias that median low, never high, while fewer than half are late). Adaptive: the
/// live quantile of worker service times that every policy of a silo shares (<see cref="StragglerDeadline"/>).
/// Not thread-safe except for the shared adaptive quantile.
/// </summary>
public sealed class ReconstructionTrigger
{
    private readonly TimeSpan _fixed;
    private readonly double _medianFactor;
    private readonly LatencyWindow? _ownLatency;
    private readonly StragglerDeadline? _adaptive;

    private readonly LatencyWindow? _quantile;

    private ReconstructionTrigger(TimeSpan fixedDeadline, double medianFactor, StragglerDeadline? adaptive, double quantile = 0, double factor = 1)
    {
        if (fixedDeadline <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(fixedDeadline), fixedDeadline, "the straggler deadline must be positive");
        }

        (_fixed, _medianFactor, _adaptive) = (fixedDeadline, medianFactor, adaptive);
        _ownLatency = adaptive is null && quantile == 0 && medianFactor > 0 ? new LatencyWindow(0.5) : null;
        _quantile = quantile > 0 ? new LatencyWindow(quantile) : null;
        _quantileFactor = factor;
    }

    private readonly double _quantileFactor;

    /// <summary>The live <paramref name="quantile"/> of this policy's own-answer times, late answers included (a quantile of
    /// answers censored at the deadline would drift down to nothing); <paramref name="initial"/> before any answer.</summary>
    public static ReconstructionTrigger Quantile(double quantile, TimeSpan initial, double factor = 1)
    {
        if (factor <= 0 || double.IsNaN(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "the trigger factor must be positive");
        }

        if (quantile is <= 0 or >= 1 || double.IsNaN(quantile))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "the trigger quantile must be in (0, 1), e.g. 0.95");
        }

        return new(initial, 0, null, quantile, factor);
    }

    /// <summary>A fixed deadline; with <paramref name="medianFactor"/> &gt; 0, at least that multiple of the recent median
    /// latency of own answers, so that a uniformly slow (overloaded) cluster is not mistaken for stragglers.</summary>
    public static ReconstructionTrigger Fixed(TimeSpan deadline, double medianFactor = 0) => new(deadline, medianFactor, null);

    /// <summary>The shared live quantile of worker service times (<paramref name="quantile"/>), clamped to its floor and cap.</summary>
    public static ReconstructionTrigger Adaptive(StragglerDeadline quantile)
    {
        ArgumentNullException.ThrowIfNull(quantile);
        return new(quantile.Current, 0, quantile);
    }

    /// <summary>The trigger a configuration names: <c>adaptive</c> (the shared <paramref name="adaptive"/> quantile),
    /// <c>quantile</c> (<paramref name="quantile"/> × <paramref name="factor"/> of own answers, <paramref name="deadline"/>
    /// before any) or <c>fixed</c> (<paramref name="deadline"/>, raised to <paramref name="medianFactor"/> × the median).</summary>
    public static ReconstructionTrigger For(string kind, TimeSpan deadline, double medianFactor, double quantile, double factor,
        StragglerDeadline? adaptive) => kind.ToLowerInvariant() switch
    {
        "adaptive" => Adaptive(adaptive ?? throw new ArgumentNullException(nameof(adaptive), "an adaptive trigger needs the silo's quantile")),
        "quantile" => Quantile(quantile, deadline, factor),
        "fixed" => Fixed(deadline, medianFactor),
        _ => throw new ArgumentException($"unknown reconstruction trigger '{kind}'; expected quantile, fixed or adaptive", nameof(kind)),
    };

    /// <summary>Whether worker service times feed it (<see cref="ServiceTime"/>).</summary>
    public bool FollowsServiceTimes => _adaptive is not null;

    /// <summary>The deadline now.</summary>
    public TimeSpan Current
    {
        get
        {
            if (_adaptive is not null)
            {
                return _adaptive.Current;
            }

            if (_quantile is not null)
            {
                return _quantile.Count == 0 ? _fixed : TimeSpan.FromMilliseconds(_quantileFactor * _quantile.Percentile(0));
            }

            if (_ownLatency is not { Count: > 0 } window)
            {
                return _fixed;
            }

            var median = TimeSpan.FromMilliseconds(_medianFactor * window.Percentile(0));
            return median > _fixed ? median : _fixed;
        }
    }

    /// <summary>A query's own answer arrived, this long after the query; <paramref name="late"/> when after its deadline.</summary>
    public void OwnAnswered(TimeSpan latency, bool late)
    {
        if (!late)
        {
            _ownLatency?.Record(latency.TotalMilliseconds);
        }

        _quantile?.Record(latency.TotalMilliseconds);
    }

    /// <summary>A worker call completed, late ones included: the quantile must see the tail it guards against.</summary>
    public void ServiceTime(TimeSpan elapsed) => _adaptive?.Record(elapsed);
}
