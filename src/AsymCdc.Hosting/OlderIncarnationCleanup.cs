using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// Once this silo is active, makes sure that no older incarnation of it (same endpoint, earlier generation: the
/// crashed process a restart replaced) is still listed as alive: while one is, it has membership re-read the table,
/// which runs Orleans' own declaration of older incarnations again.
/// </summary>
/// <remarks>
/// Orleans declares a silo's older incarnations dead as the new one starts, with one conditional write to the table,
/// and does not retry a write that lost to another one: when a frontend and a worker restarted at the same moment (the
/// chaos drill's <c>--kill-frontend</c>, a node that took two pods with it), one of the two declarations was lost. The
/// dead incarnation then stayed "active" until the next full table refresh (60 s): the survivors' probes reached its
/// successor, which rejected them as addressed to someone else, so no vote was cast, and every silo that tried to join
/// meanwhile failed its connectivity check against it, again every 5 s (a worker's replacement joined 55 s late).
/// </remarks>
public sealed partial class OlderIncarnationCleanup(ILocalSiloDetails silo, IClusterMembershipService membership,
    TimeProvider time, ILogger<OlderIncarnationCleanup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How often the table is read again while an older incarnation is still listed as alive.</summary>
    public static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(500);

    /// <summary>After this long it is left to Orleans' own failure detection and table refresh.</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);

    private readonly CancellationTokenSource _stopping = new();
    private Task _cleanup = Task.CompletedTask;

    /// <summary>The older incarnations of <paramref name="self"/> that <paramref name="snapshot"/> does not list as dead.</summary>
    public static List<SiloAddress> LiveOlderIncarnations(ClusterMembershipSnapshot snapshot, SiloAddress self)
    {
        var older = new List<SiloAddress>();
        foreach (var (address, member) in snapshot.Members)
        {
            if (address.Endpoint.Equals(self.Endpoint) && address.Generation < self.Generation && member.Status != SiloStatus.Dead)
            {
                older.Add(address);
            }
        }

        return older;
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(OlderIncarnationCleanup), ServiceLifecycleStage.Active, OnActive, OnStop);

    private Task OnActive(CancellationToken cancellationToken)
    {
        _cleanup = Task.Run(() => CleanUpAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task OnStop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _cleanup; // never faults: CleanUpAsync logs what it cannot do
        _stopping.Dispose();
    }

    private async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var older = LiveOlderIncarnations(membership.CurrentSnapshot, silo.SiloAddress);
                if (older.Count == 0)
                {
                    if (attempt > 1)
                    {
                        LogCleanedUp(logger, time.GetElapsedTime(started).TotalMilliseconds);
                    }

                    return;
                }

                if (time.GetElapsedTime(started) > GiveUpAfter)
                {
                    LogGaveUp(logger, string.Join(", ", older), GiveUpAfter.TotalSeconds);
                    return;
                }

                LogDeclaring(logger, string.Join(", ", older), attempt);
                // A refresh declares this silo's older incarnations dead, as at start-up (and waits for the writes).
                await membership.Refresh(cancellationToken: cancellationToken);
                await Task.Delay(Retry, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Older incarnations of this silo, {Incarnations}, are still listed as alive after it joined; reading the membership table again to declare them dead (attempt {Attempt})")]
    private static partial void LogDeclaring(ILogger logger, string incarnations, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Older incarnations of this silo declared dead {ElapsedMs:F0} ms after it became active")]
    private static partial void LogCleanedUp(ILogger logger, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Older incarnations {Incarnations} of this silo are still listed as alive after {Seconds} s; leaving them to Orleans' failure detection")]
    private static partial void LogGaveUp(ILogger logger, string incarnations, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Declaring this silo's older incarnations dead failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
