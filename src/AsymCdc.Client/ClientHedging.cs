using AsymCdc.Serving;
namespace AsymCdc.Client;

/// <summary>
/// Hedged requests on the client ("The Tail at Scale"): a call still unanswered after the recent
/// <see cref="Percentile"/> of the client's own latencies is sent a second time, through a frontend key that enters
/// another frontend silo, and the first answer wins (predictions are idempotent). The parity groups cover a slow or
/// dead worker; this covers the frontend silo a call entered: one that dies with the call in flight (the client sees
/// its connection close only when the kernel closes the dead process's sockets, tens of milliseconds after SIGKILL)
/// or one that stalls (a long GC pause, a frozen node). A frontend that answered nothing since a call that
/// its hedge overtook was sent is suspected for <see cref="SuspectProbation"/>: new calls use keys on other frontends,
/// then one call tries it again while the others wait for that call's answer (<see cref="FrontendSuspicion"/>).
/// Hedges, and the client's resends, are capped by <see cref="Budget"/>, so a cluster that is slow everywhere gets at
/// most that much extra load; a copy the budget refuses is sent when the client's new calls have refilled it.
/// Off unless given to <see cref="AsymCdcClient"/> (a benchmark of serving strategies must not hedge on the client).
/// </summary>
public sealed record ClientHedging
{
    /// <summary>The percentile of recent answered latencies after which a call is hedged (0.99: about one call in a
    /// hundred hedged while nothing fails).</summary>
    public double Percentile { get; init; } = 0.99;

    /// <summary>The shortest hedge delay, whatever the percentile says.</summary>
    public TimeSpan MinDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The longest hedge delay; also the delay until <see cref="MinSamples"/> calls have been answered.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Answered calls the percentile needs before it is used.</summary>
    public int MinSamples { get; init; } = 32;

    /// <summary>At most this fraction of calls gets a second copy (hedge or resend), averaged over time (0.05: one in
    /// twenty). A client that does not hedge pays its resends from the default.</summary>
    public double Budget { get; init; } = 0.05;

    /// <summary>Second copies that may go out at once when the budget is full: the calls in flight through a frontend that dies.</summary>
    public int Burst { get; init; } = 16;

    /// <summary>How long new calls avoid a suspected frontend before one call tries it again; the others avoid it until
    /// a call sent since the suspicion is answered through it, or for one more probation.</summary>
    public TimeSpan SuspectProbation { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Percentile is <= 0 or >= 1)
        {
            throw new ArgumentException($"ClientHedging.Percentile is {Percentile}; it must be in (0, 1), e.g. 0.99", nameof(Percentile));
        }

        if (MinDelay <= TimeSpan.Zero || MaxDelay < MinDelay)
        {
            throw new ArgumentException($"ClientHedging.MinDelay ({MinDelay}) must be positive and at most MaxDelay ({MaxDelay})", nameof(MinDelay));
        }

        if (MinSamples is < 1 or > LatencyWindow.Capacity)
        {
            throw new ArgumentException($"ClientHedging.MinSamples is {MinSamples}; it must be in 1..{LatencyWindow.Capacity}", nameof(MinSamples));
        }

        if (Budget is <= 0 or > 1)
        {
            throw new ArgumentException($"ClientHedging.Budget is {Budget}; it must be in (0, 1], e.g. 0.05", nameof(Budget));
        }

        if (Burst < 1)
        {
            throw new ArgumentException($"ClientHedging.Burst is {Burst}; it must be at least 1", nameof(Burst));
        }

        if (SuspectProbation < TimeSpan.Zero)
        {
            throw new ArgumentException($"ClientHedging.SuspectProbation is {SuspectProbation}; it must not be negative", nameof(SuspectProbation));
        }
    }
}
