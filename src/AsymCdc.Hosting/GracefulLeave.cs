using AsymCdc.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// How a silo leaves on SIGTERM (a scale-in, a rolling update, <c>cluster scale</c>) without a call waiting on it.
/// Orleans stops a silo from its highest lifecycle stage down; at <see cref="ServiceLifecycleStage.BecomeActive"/> it
/// marks the silo ShuttingDown in membership, which the other silos hear by gossip (their frontends stop picking this
/// worker) and clients by their gateway-list refresh (they stop sending through this gateway). This participant stops
/// at that same stage, after the status is written and before any grain deactivates: it keeps serving until no work has arrived for
/// <see cref="SiloOptions.LeaveQuietPeriod"/> and none is in flight; then a frontend refuses what still comes (refusals
/// are <see cref="PredictionException.NotStarted"/>, which the client re-sends elsewhere) and waits for its queries in
/// flight. All of it within <see cref="SiloOptions.DrainTimeout"/>.
/// </summary>
internal sealed partial class GracefulLeave(
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    SiloActivity activity,
    AdmissionControl admission,
    IOptions<SiloOptions> options,
    TimeProvider time,
    ILogger<GracefulLeave> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Orleans' own stage for the membership change: its participants stop together, so this one runs while
    /// membership marks the silo ShuttingDown, and grains deactivate (the next stage down) only once it is done.</summary>
    public const int Stage = ServiceLifecycleStage.BecomeActive;

    /// <summary>How long the leave waits to see its own ShuttingDown status before it goes on regardless.</summary>
    private static readonly TimeSpan StatusLimit = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(GracefulLeave), Stage, _ => Task.CompletedTask, LeaveAsync);

    private async Task LeaveAsync(CancellationToken cancellationToken)
    {
        var silo = options.Value;
        var started = time.GetTimestamp();
        LogLeaving(logger, activity.InFlight, silo.LeaveQuietPeriod.TotalSeconds, silo.DrainTimeout.TotalSeconds);
        try
        {
            // The quiet period counts from when peers and clients can know: once the table says ShuttingDown.
            while (membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress) == SiloStatus.Active
                && time.GetElapsedTime(started) < StatusLimit)
            {
                await Task.Delay(Poll, time, cancellationToken);
            }

            while (!(activity.InFlight == 0 && activity.SinceLastArrival >= silo.LeaveQuietPeriod)
                && time.GetElapsedTime(started) < silo.DrainTimeout)
            {
                await Task.Delay(Poll, time, cancellationToken);
            }

            var quietAfter = time.GetElapsedTime(started);
            var left = silo.DrainTimeout - quietAfter;
            var drained = await admission.DrainAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, time);
            if (drained && activity.InFlight == 0)
            {
                LogLeft(logger, quietAfter.TotalMilliseconds, time.GetElapsedTime(started).TotalMilliseconds);
            }
            else
            {
                LogDrainTimedOut(logger, activity.InFlight, silo.DrainTimeout.TotalSeconds);
            }
        }
        catch (OperationCanceledException)
        {
            LogDrainTimedOut(logger, activity.InFlight, silo.DrainTimeout.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Leaving the cluster: {InFlight} calls in flight; serving until none has arrived for {QuietSeconds} s (up to {DrainSeconds} s)")]
    private static partial void LogLeaving(ILogger logger, long inFlight, double quietSeconds, double drainSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained: no new work {QuietMs:F0} ms after leaving began, the last call answered at {DoneMs:F0} ms; stopping")]
    private static partial void LogLeft(ILogger logger, double quietMs, double doneMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain timed out after {DrainSeconds} s with {InFlight} calls still in flight")]
    private static partial void LogDrainTimedOut(ILogger logger, long inFlight, double drainSeconds);
}
