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

    /// <summary>How long until the next period of a periodic slowdown begins (its slow stretch first), on the clock every
    /// injector in this process shares: a benchmark starts each mode's measured run there, so that every mode meets the
    /// same slow stretches.</summary>
    public static TimeSpan UntilNextPeriod(TimeSpan period) => UntilNextPeriod(System.Diagnostics.Stopwatch.GetElapsedTime(s_start), period);

    /// <summary><see cref="UntilNextPeriod(TimeSpan)"/> at <paramref name="elapsed"/> on that clock: in (0, period].</summary>
    public static TimeSpan UntilNextPeriod(TimeSpan elapsed, TimeSpan period) =>
        TimeSpan.FromTicks(period.Ticks - (elapsed.Ticks % period.Ticks));

    /// <summary>Whether a periodic slowdown is in its slow stretch (the first <paramref name="slowFor"/> of every
    /// <paramref name="period"/>) at <paramref name="elapsed"/> on that clock.</summary>
    public static bool InSlowStretch(TimeSpan elapsed, TimeSpan slowFor, TimeSpan period) =>
        elapsed.Ticks % period.Ticks < slowFor.Ticks;

    /// <summary>The delay to inject before this call; <see cref="TimeSpan.Zero"/> for a normal call.</summary>
    public TimeSpan NextDelay()
    {
        var delay = _options.SiloSlowdown;
        if (delay > TimeSpan.Zero && _options.SiloSlowdownPeriod is { } period && period > TimeSpan.Zero
            && !InSlowStretch(System.Diagnostics.Stopwatch.GetElapsedTime(s_start), _options.SiloSlowdownFor ?? period, period))
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
