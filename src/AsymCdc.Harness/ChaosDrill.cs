using System.Diagnostics;

namespace AsymCdc.Cli.Cluster;

/// <summary>The faults of a chaos drill against a <see cref="ProcessCluster"/>: kills and restarts, as Kubernetes
/// restarts a crashed container, and freezes.</summary>
public static class ChaosDrill
{
    /// <summary>At <paramref name="killAfter"/> into the load, SIGKILLs the victims together (and SIGSTOPs
    /// <paramref name="freeze"/>'s silo for its time, then SIGCONTs it); after
    /// <paramref name="restartAfter"/> starts each again and waits until it is ready. Returns both times, in ms after
    /// <paramref name="start"/>.</summary>
    public static async Task<(double KillMs, double ReplacedMs)> KillAndRestartAsync(ProcessCluster cluster, IReadOnlyList<string> victims,
        TimeSpan killAfter, TimeSpan restartAfter, int restartNice, int killNice, long start, CancellationToken cancellationToken,
        (string Silo, TimeSpan For)? freeze = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(victims);
        var due = killAfter - Stopwatch.GetElapsedTime(start);
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due, cancellationToken);
        }

        var killMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var frozen = freeze is { } f ? FreezeAsync(cluster, f.Silo, f.For, cancellationToken) : Task.CompletedTask;
        if (victims.Count > 0)
        {
            await Task.WhenAll(victims.Select(v => cluster.KillAsync(v, killNice)));
            await Task.Delay(restartAfter, cancellationToken);
            await Task.WhenAll(victims.Select(v => cluster.RestartAsync(v, restartNice, cancellationToken)));
        }

        await frozen;
        return (killMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>SIGSTOPs a silo for <paramref name="duration"/>, then SIGCONTs it, whatever happens meanwhile.</summary>
    private static async Task FreezeAsync(ProcessCluster cluster, string silo, TimeSpan duration, CancellationToken cancellationToken)
    {
        cluster.Freeze(silo);
        try
        {
            await Task.Delay(duration, cancellationToken);
        }
        finally
        {
            cluster.Thaw(silo);
        }
    }
}
