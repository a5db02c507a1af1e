using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// Decides, per worker call, whether it straggles: with probability <see cref="StragglerOptions.Rate"/> the call is
/// delayed by <see cref="StragglerOptions.Delay"/>, and every call on a slowed silo by
/// <see cref="StragglerOptions.SiloSlowdown"/>. Seeded so runs are reproducible; the silo's port is mixed into the
/// seed so silos straggle independently (the premise of coded computation).
/// </summary>
public sealed class StragglerInjector
{
    private readonly StragglerOptions _options;
    private readonly Random _random;
    private static readonly long s_start = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly Lock _lock = new();

    public StragglerInjector(IOptions<StragglerOptions> options, ILocalSiloDetails silo)
        : this(options.Value, silo.SiloAddress.Endpoint.Port)
    {
    }

    public StragglerInjector(StragglerOptions options, int siloSalt)
    {
        _options = options;
        _random = new Random(unchecked((options.Seed * 7919) + siloSalt));
    }

    /// <summary>The delay to inject before this call; <see cref="TimeSpan.Zero"/> for a normal call.</summary>
    public TimeSpan NextDelay()
    {
        var delay = _options.SiloSlowdown;
        if (delay > TimeSpan.Zero && _options.SiloSlowdownPeriod is { } period && period > TimeSpan.Zero
            && TimeSpan.FromTicks(System.Diagnostics.Stopwatch.GetElapsedTime(s_start).Ticks % period.Ticks) >= (_options.SiloSlowdownFor ?? period))
        {
            delay = TimeSpan.Zero;
        }

        if (_options.Rate > 0)
        {
            double draw;
            lock (_lock)
            {
                draw = _random.NextDouble();
            }

            if (draw < _options.Rate)
            {
                delay += _options.Delay;
            }
        }

        return delay;
    }
}
