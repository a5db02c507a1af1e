namespace AsymCdc.Grains;

/// <summary>
/// A clock whose timers call back on one grain activation's scheduler, so that a serving policy driven by it is touched
/// by one thread at a time like the rest of the grain (Orleans' "external tasks": the captured activation scheduler).
/// </summary>
internal sealed class ActivationTimeProvider(TimeProvider inner, TaskScheduler activation, Action<Exception> onError) : TimeProvider
{
    public override long TimestampFrequency => inner.TimestampFrequency;

    public override long GetTimestamp() => inner.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(_ => Task.Factory.StartNew(() =>
        {
            try
            {
                callback(state);
            }
            catch (Exception e)
            {
                onError(e);
            }
        }, CancellationToken.None, TaskCreationOptions.DenyChildAttach, activation), null, dueTime, period);
}
