using AsymCdc.Abstractions;

namespace AsymCdc.Client;

/// <summary>When a call is hedged: the <see cref="ClientHedging.Percentile"/> of the client's recent answered latencies
/// (the last <see cref="LatencyWindow.Capacity"/>), within [<see cref="ClientHedging.MinDelay"/>,
/// <see cref="ClientHedging.MaxDelay"/>], and <see cref="ClientHedging.MaxDelay"/> until
/// <see cref="ClientHedging.MinSamples"/> answers. Thread-safe: records under a lock, reads without one.</summary>
public sealed class HedgeDelay(ClientHedging policy)
{
    private readonly LatencyWindow _window = new(policy.Percentile);
    private readonly double _minMs = policy.MinDelay.TotalMilliseconds;
    private readonly double _maxMs = policy.MaxDelay.TotalMilliseconds;
    private readonly int _minSamples = policy.MinSamples;

    public void Record(TimeSpan latency)
    {
        lock (_window)
        {
            _window.Record(latency.TotalMilliseconds);
        }
    }

    public TimeSpan Current => _window.Count < _minSamples
        ? TimeSpan.FromMilliseconds(_maxMs)
        : TimeSpan.FromMilliseconds(Math.Clamp(_window.Percentile(_maxMs), _minMs, _maxMs));
}
