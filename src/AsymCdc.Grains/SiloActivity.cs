namespace AsymCdc.Grains;

/// <summary>
/// Work arriving at this silo — queries a frontend admitted, model calls on a worker — and how much of it is in flight:
/// what a leaving silo waits on before it stops (<c>GracefulLeave</c> in the hosting layer). Two interlocked operations
/// per unit of work.
/// </summary>
public sealed class SiloActivity(TimeProvider time)
{
    private long _inFlight;
    private long _lastArrival = long.MinValue;

    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Time since the last unit of work arrived (<see cref="TimeSpan.MaxValue"/> before the first).</summary>
    public TimeSpan SinceLastArrival
    {
        get
        {
            var last = Interlocked.Read(ref _lastArrival);
            return last == long.MinValue ? TimeSpan.MaxValue : time.GetElapsedTime(last);
        }
    }

    public void Enter()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Exchange(ref _lastArrival, time.GetTimestamp());
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);
}
