using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace AsymCdc.Grains;

/// <summary>
/// Which live silos carry a role, from Orleans membership (liveness) and silo metadata (roles). Parity groups use
/// it to pick k+1 distinct worker silos round-robin; a silo drops out as soon as membership stops calling it active.
/// </summary>
public sealed partial class WorkerDirectory(
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    ILogger<WorkerDirectory> logger)
{
    private readonly Lock _lock = new();
    private MembershipVersion _version = MembershipVersion.MinValue;
    private SiloAddress[] _workers = [];
    private SiloAddress[] _frontends = [];
    private bool _complete;
    private int _cursor;

    /// <summary>Active silos with the <see cref="SiloRoles.GpuWorker"/> role, in address order.</summary>
    public IReadOnlyList<SiloAddress> Workers => Refresh().Workers;

    /// <summary>Active silos with the <see cref="SiloRoles.Frontend"/> role, in address order.</summary>
    public IReadOnlyList<SiloAddress> Frontends => Refresh().Frontends;

    public bool IsActiveWorker(SiloAddress silo) => Array.IndexOf(Refresh().Workers, silo) >= 0;

    /// <summary>
    /// <paramref name="count"/> worker silos, distinct when at least that many are alive, round-robin so that
    /// load spreads evenly. With fewer workers than members the list wraps (members share silos) rather than fail:
    /// a degraded group still answers, it just loses failure independence.
    /// </summary>
    public SiloAddress[] Pick(int count)
    {
        var workers = Refresh().Workers;
        if (workers.Length == 0)
        {
            throw new AsymCdc.Abstractions.PredictionException(AsymCdc.Abstractions.PredictionErrorCode.Unavailable,
                "no live silo with the 'gpu-worker' role is in the cluster; start a worker silo (AsymCdc:Silo:Roles=gpu-worker)");
        }

        if (workers.Length < count)
        {
            LogTooFewWorkers(logger, count, workers.Length);
        }

        var start = (int)((uint)Interlocked.Increment(ref _cursor) % (uint)workers.Length);
        var picked = new SiloAddress[count];
        for (var i = 0; i < count; i++)
        {
            picked[i] = workers[(start + i) % workers.Length];
        }

        return picked;
    }

    private (SiloAddress[] Workers, SiloAddress[] Frontends) Refresh()
    {
        var snapshot = membership.CurrentSnapshot;
        lock (_lock)
        {
            // Metadata arrives shortly after a silo joins, so a view built while some was missing is rebuilt.
            if (snapshot.Version == _version && _complete)
            {
                return (_workers, _frontends);
            }

            var workers = new List<SiloAddress>();
            var frontends = new List<SiloAddress>();
            var complete = true;
            foreach (var (silo, member) in snapshot.Members)
            {
                if (member.Status != SiloStatus.Active)
                {
                    continue;
                }

                var roles = metadata.GetSiloMetadata(silo).Metadata;
                if (roles.Count == 0)
                {
                    complete = false;
                    continue;
                }

                if (roles.ContainsKey(SiloRoles.MetadataKey(SiloRoles.GpuWorker)))
                {
                    workers.Add(silo);
                }

                if (roles.ContainsKey(SiloRoles.MetadataKey(SiloRoles.Frontend)))
                {
                    frontends.Add(silo);
                }
            }

            workers.Sort(static (a, b) => a.CompareTo(b));
            frontends.Sort(static (a, b) => a.CompareTo(b));
            if (snapshot.Version != _version || workers.Count != _workers.Length)
            {
                LogWorkersChanged(logger, snapshot.Version.Value, workers.Count, frontends.Count);
            }

            _version = snapshot.Version;
            _complete = complete;
            _workers = [.. workers];
            _frontends = [.. frontends];
            return (_workers, _frontends);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Membership version {Version}: {Workers} live worker silos, {Frontends} frontend silos")]
    private static partial void LogWorkersChanged(ILogger logger, long version, int workers, int frontends);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group needs {Needed} distinct worker silos but only {Live} are alive; members will share silos")]
    private static partial void LogTooFewWorkers(ILogger logger, int needed, int live);
}
