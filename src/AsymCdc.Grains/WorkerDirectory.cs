using System.Diagnostics;
using AsymCdc.Serving;
using Microsoft.Extensions.Options;
using Orleans.Metadata;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace AsymCdc.Grains;

/// <summary>
/// Which live silos carry a role, from Orleans membership (liveness), silo metadata (roles) and the cluster manifest
/// (placement). Parity groups use it to pick k+1 distinct worker silos round-robin; a silo drops out as soon as
/// membership stops calling it active, and is passed over while this silo's own <see cref="WorkerSuspicion"/>
/// suspects it (a call to it was rejected). A worker that joins while this silo is serving is, for
/// <see cref="ServingOptions.NewWorkerParityOnly"/>, picked last: into the parity slot of a coded group (the backup slot
/// of replication and hedging), the one slot whose answer is needed only when another member straggles. Its first calls
/// pay for its cold grain path; in a data slot they straggled and were decoded.
/// </summary>
/// <remarks>
/// A silo that has just joined is listed only once this silo's cluster manifest has it. Membership and metadata say
/// "active, gpu-worker" some 10 to 400 ms before the manifest, and until then Orleans' placement finds no compatible
/// silo for a model-worker grain on it: a group that picked it lost that member and decoded it instead.
/// </remarks>
public sealed partial class WorkerDirectory
{
    private readonly IClusterMembershipService _membership;
    private readonly ISiloMetadataCache _metadata;
    private readonly IClusterManifestProvider _manifest;
    private readonly ILogger<WorkerDirectory> _logger;
    private readonly Lock _lock = new();
    private readonly NewcomerWindow _newcomerWindow;
    private readonly Func<SiloAddress, bool> _isNewcomer;
    private volatile int _newcomers;
    private MembershipVersion _version = MembershipVersion.MinValue;
    private MajorMinorVersion _manifestVersion = MajorMinorVersion.MinValue;
    private SiloAddress[] _workers = [];
    private SiloAddress[] _frontends = [];
    private bool _complete;
    private readonly WorkerPicker<SiloAddress> _picker = new();
    private readonly Func<SiloAddress, bool> _isSuspected;
    private readonly bool _slowWorkersOn;

    // At most one warning per worker per 10 s: under an overload the fleet's workers flip slow and back many times a second.
    private readonly SlowSpellLog<SiloAddress> _slowSpells;

    // Workers that said they do not load a model (their repository differs: a rollout half done, or a pool that loads
    // a subset). A silo's repository does not change while it runs, so an entry lasts until the silo is dead.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(SiloAddress Silo, string Model), bool> _lacking = new();

    public WorkerDirectory(IClusterMembershipService membership, ISiloMetadataCache metadata,
        IClusterManifestProvider manifest, WorkerSuspicion suspicion, TimeProvider time, IOptions<ServingOptions> options,
        ServingInstruments instruments, ILogger<WorkerDirectory> logger)
    {
        _newcomerWindow = new NewcomerWindow(options.Value.NewWorkerParityOnly, time);
        _isNewcomer = _newcomerWindow.Contains;
        var slowFactor = options.Value.SlowWorkerFactor;
        SlowWorkers = new SlowWorkerDetector<SiloAddress>(time, slowFactor > 1 ? slowFactor : 3);
        _slowWorkersOn = slowFactor > 1;
        _slowSpells = new SlowSpellLog<SiloAddress>(time, SlowSpellQuiet);
        if (_slowWorkersOn)
        {
            SlowWorkers.Changed += (silo, change) => LogSlowWorker(logger, _slowSpells, silo, change);
            instruments.ObserveSlowWorkers(SlowWorkers);
        }

        _isSuspected = silo => Suspicion!.IsSuspected(silo);
        _membership = membership;
        _metadata = metadata;
        _manifest = manifest;
        _logger = logger;
        Suspicion = suspicion;
        suspicion.Suspected += (silo, probation, reason) => LogSuspected(logger, silo, probation.TotalSeconds, reason.GetBaseException().Message);
    }

    /// <summary>This silo's fast failure detector for the workers it calls.</summary>
    public WorkerSuspicion Suspicion { get; }

    /// <summary>Workers whose recent answers are persistently slow: passed over like suspects while enough others remain.</summary>
    public SlowWorkerDetector<SiloAddress> SlowWorkers { get; }

    /// <summary>Active silos with the <see cref="SiloRoles.GpuWorker"/> role, in address order.</summary>
    public IReadOnlyList<SiloAddress> Workers => Refresh().Workers;

    /// <summary>Active silos with the <see cref="SiloRoles.Frontend"/> role, in address order.</summary>
    public IReadOnlyList<SiloAddress> Frontends => Refresh().Frontends;

    public bool IsActiveWorker(SiloAddress silo) => Array.IndexOf(Refresh().Workers, silo) >= 0;

    /// <summary>A worker silo that is leaving gracefully (ShuttingDown or Stopping): no longer picked, but its grains
    /// still answer the calls already routed to it (<c>GracefulLeave</c>).</summary>
    public bool IsLeavingWorker(SiloAddress silo) =>
        _membership.CurrentSnapshot.GetSiloStatus(silo) is SiloStatus.ShuttingDown or SiloStatus.Stopping
        && _metadata.GetSiloMetadata(silo).Metadata.ContainsKey(SiloRoles.MetadataKey(SiloRoles.GpuWorker));

    /// <summary>Whether this silo knows the roles and the manifest entry of every active silo. A silo that has just
    /// become active learns its peers' some milliseconds later; until then it lists none of them.</summary>
    public bool IsComplete => Refresh().Complete;

    /// <summary>Waits until this silo lists a live worker, or knows there is none (<see cref="IsComplete"/> with no
    /// worker), checking every <paramref name="poll"/>, or until <paramref name="limit"/> passes; returns the live
    /// workers then. It does not wait for a complete view: a crashed silo not yet declared dead is listed active, and
    /// its roles cannot be fetched until it is (3 to 6 s).</summary>
    public async Task<IReadOnlyList<SiloAddress>> WhenWorkersKnownAsync(TimeSpan limit, TimeSpan poll, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var view = Refresh();
        while (view.Workers.Length == 0 && !view.Complete && Stopwatch.GetElapsedTime(started) < limit)
        {
            await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
            view = Refresh();
        }

        return view.Workers;
    }

    /// <summary>
    /// <paramref name="count"/> worker silos, distinct when at least that many are alive, round-robin so that
    /// load spreads evenly. Suspected silos are passed over while enough others remain. With fewer workers than members
    /// the list wraps (members share silos) rather than fail: a degraded group still answers, it just loses failure
    /// independence.
    /// </summary>
    public SiloAddress[] Pick(int count) => Pick(count, model: null);

    /// <summary>As <see cref="Pick(int)"/>, for calls of <paramref name="model"/>: workers known not to load it are passed
    /// over like suspects (<see cref="NoteLacks"/>).</summary>
    public SiloAddress[] Pick(int count, string? model)
    {
        var workers = Refresh().Workers;
        if (workers.Length == 0)
        {
            throw new AsymCdc.Abstractions.PredictionException(AsymCdc.Abstractions.PredictionErrorCode.Unavailable,
                "no live silo with the 'gpu-worker' role is in the cluster; start a worker silo (AsymCdc:Silo:Roles=gpu-worker)");
        }

        if (workers.Length < count)
        {
            LogTooFewWorkers(_logger, count, workers.Length);
        }

        var isSuspected = Suspicion.Count > 0 ? _isSuspected : null;
        if (model is not null && !_lacking.IsEmpty)
        {
            var suspected = isSuspected;
            isSuspected = silo => _lacking.ContainsKey((silo, model)) || (suspected?.Invoke(silo) ?? false);
        }

        var slowWorkers = _slowWorkersOn ? SlowWorkers : null;
        if (_newcomers > 0 && count > 1)
        {
            lock (_lock)
            {
                _newcomerWindow.ForgetSeasoned();
                _newcomers = _newcomerWindow.Count;
                if (_newcomers > 0)
                {
                    return _picker.Pick(workers, count, isSuspected, _isNewcomer, slowWorkers);
                }
            }
        }

        return _picker.Pick(workers, count, isSuspected, goesLast: null, slowWorkers);
    }

    /// <summary><paramref name="silo"/> answered that it does not load <paramref name="model"/>.</summary>
    public void NoteLacks(SiloAddress silo, string model)
    {
        if (_lacking.TryAdd((silo, model), true))
        {
            LogLacksModel(_logger, silo, model);
        }
    }

    private (SiloAddress[] Workers, SiloAddress[] Frontends, bool Complete) Refresh()
    {
        var snapshot = _membership.CurrentSnapshot;
        var manifest = _manifest.Current;
        lock (_lock)
        {
            // Metadata and the manifest arrive shortly after a silo joins, so a view built while some was missing is
            // rebuilt.
            if (snapshot.Version == _version && manifest.Version == _manifestVersion && _complete)
            {
                return (_workers, _frontends, _complete);
            }

            var (workers, frontends, complete) = View(
                snapshot.Members.Select(static m => (m.Key, m.Value.Status)),
                silo => _metadata.GetSiloMetadata(silo).Metadata,
                manifest.Silos.ContainsKey);
            if (snapshot.Version != _version || workers.Length != _workers.Length)
            {
                LogWorkersChanged(_logger, snapshot.Version.Value, workers.Length, frontends.Length);
                // Gone means dead: a silo that is leaving (ShuttingDown, Stopping) still answers the calls out to it.
                foreach (var gone in Suspicion.Known.Where(s => snapshot.GetSiloStatus(s) is SiloStatus.Dead or SiloStatus.None).ToList())
                {
                    Suspicion.Forget(gone);
                }

                foreach (var member in snapshot.Members)
                {
                    if (member.Value.Status is SiloStatus.Dead)
                    {
                        SlowWorkers.Forget(member.Key);
                        _slowSpells.Forget(member.Key);
                        foreach (var key in _lacking.Keys.Where(k => k.Silo.Equals(member.Key)))
                        {
                            _lacking.TryRemove(key, out _);
                        }
                    }
                }
            }

            foreach (var joined in _newcomerWindow.Note(workers))
            {
                LogNewcomer(_logger, joined, _newcomerWindow.Window.TotalSeconds);
            }

            _newcomers = _newcomerWindow.Count;
            _version = snapshot.Version;
            _manifestVersion = manifest.Version;
            _complete = complete;
            _workers = workers;
            _frontends = frontends;
            return (_workers, _frontends, _complete);
        }
    }

    /// <summary>
    /// The active silos with the <see cref="SiloRoles.GpuWorker"/> and <see cref="SiloRoles.Frontend"/> roles, each in
    /// address order. A silo counts once its roles (silo metadata) are known and it is in the cluster manifest
    /// (<paramref name="inManifest"/>: placement can put a grain on it); <c>Complete</c> is false while an active silo
    /// lacks either, so the caller builds the view again.
    /// </summary>
    public static (SiloAddress[] Workers, SiloAddress[] Frontends, bool Complete) View(
        IEnumerable<(SiloAddress Silo, SiloStatus Status)> members,
        Func<SiloAddress, IReadOnlyDictionary<string, string>> roles, Func<SiloAddress, bool> inManifest)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(roles);
        ArgumentNullException.ThrowIfNull(inManifest);
        var workers = new List<SiloAddress>();
        var frontends = new List<SiloAddress>();
        var complete = true;
        foreach (var (silo, status) in members)
        {
            if (status != SiloStatus.Active)
            {
                continue;
            }

            var siloRoles = roles(silo);
            if (siloRoles.Count == 0 || !inManifest(silo))
            {
                complete = false;
                continue;
            }

            if (siloRoles.ContainsKey(SiloRoles.MetadataKey(SiloRoles.GpuWorker)))
            {
                workers.Add(silo);
            }

            if (siloRoles.ContainsKey(SiloRoles.MetadataKey(SiloRoles.Frontend)))
            {
                frontends.Add(silo);
            }
        }

        workers.Sort(static (a, b) => a.CompareTo(b));
        frontends.Sort(static (a, b) => a.CompareTo(b));
        return ([.. workers], [.. frontends], complete);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Membership version {Version}: {Workers} live worker silos, {Frontends} frontend silos")]
    private static partial void LogWorkersChanged(ILogger logger, long version, int workers, int frontends);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker silo {Silo} joined: it takes only the last slot of a group (parity) for {Seconds} s")]
    private static partial void LogNewcomer(ILogger logger, SiloAddress silo, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker silo {Silo} suspected unreachable, not picked for {ProbationSeconds} s: {Reason}")]
    private static partial void LogSuspected(ILogger logger, SiloAddress silo, double probationSeconds, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker silo {Silo} does not load model {Model} (its model repository differs): passed over for it")]
    private static partial void LogLacksModel(ILogger logger, SiloAddress silo, string model);

    /// <summary>The least time between two warnings that one worker is slow (<see cref="SlowSpellLog{TWorker}"/>).</summary>
    public static readonly TimeSpan SlowSpellQuiet = TimeSpan.FromSeconds(10);

    /// <summary>One warning per slow spell, at most one per worker per <see cref="SlowSpellQuiet"/> (the spells between
    /// go to Debug and the next warning counts them); a worker that stays slow goes on trial and back to slow every
    /// probation, which is logged at Debug.</summary>
    private static void LogSlowWorker(ILogger logger, SlowSpellLog<SiloAddress> spells, SiloAddress silo, SlowWorkerChange change)
    {
        switch (change.To)
        {
            case SlowWorkerState.Slow when change.From == SlowWorkerState.OnTrial:
                LogStillSlow(logger, silo, change.MedianMs, change.FleetMedianMs);
                break;
            case SlowWorkerState.Slow:
                var (warn, unwarned, since) = spells.SpellBegan(silo);
                if (!warn)
                {
                    LogSlowSpellQuietly(logger, silo, change.MedianMs, change.FleetMedianMs, unwarned);
                }
                else if (unwarned == 0)
                {
                    LogSlowSpell(logger, silo, change.MedianMs, change.FleetMedianMs);
                }
                else
                {
                    LogSlowSpellAgain(logger, silo, change.MedianMs, change.FleetMedianMs, unwarned, since.TotalSeconds);
                }

                break;
            case SlowWorkerState.OnTrial:
                LogOnTrial(logger, silo);
                break;
            default:
                if (spells.SpellEnded(silo))
                {
                    LogRecovered(logger, silo, change.MedianMs, change.FleetMedianMs);
                }
                else
                {
                    LogRecoveredQuietly(logger, silo, change.MedianMs, change.FleetMedianMs);
                }

                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker silo {Silo} is slow: median {MedianMs:0.0} ms over its recent calls against the fleet's {FleetMs:0.0} ms; "
        + "it gets a group's parity or a hedge's backup slot only, or none, until it recovers; {Unwarned} more slow spells began in the {Seconds:0.0} s since "
        + "the last warning about it (logged at Debug): the fleet may be overloaded")]
    private static partial void LogSlowSpellAgain(ILogger logger, SiloAddress silo, double medianMs, double fleetMs, int unwarned, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Worker silo {Silo} is slow again: median {MedianMs:0.0} ms against the fleet's {FleetMs:0.0} ms "
        + "(spell {Unwarned} since the last warning about it)")]
    private static partial void LogSlowSpellQuietly(ILogger logger, SiloAddress silo, double medianMs, double fleetMs, int unwarned);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Worker silo {Silo} recovered: median {MedianMs:0.0} ms against the fleet's {FleetMs:0.0} ms")]
    private static partial void LogRecoveredQuietly(ILogger logger, SiloAddress silo, double medianMs, double fleetMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker silo {Silo} is slow: median {MedianMs:0.0} ms over its recent calls against the fleet's {FleetMs:0.0} ms; "
        + "it gets a group's parity or a hedge's backup slot only, or none, until it recovers")]
    private static partial void LogSlowSpell(ILogger logger, SiloAddress silo, double medianMs, double fleetMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Worker silo {Silo} is still slow after its trial: median {MedianMs:0.0} ms against the fleet's {FleetMs:0.0} ms")]
    private static partial void LogStillSlow(ILogger logger, SiloAddress silo, double medianMs, double fleetMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Worker silo {Silo} on trial: the last slot of a pick until its next calls judge it")]
    private static partial void LogOnTrial(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker silo {Silo} recovered: median {MedianMs:0.0} ms against the fleet's {FleetMs:0.0} ms; it takes every slot again")]
    private static partial void LogRecovered(ILogger logger, SiloAddress silo, double medianMs, double fleetMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group needs {Needed} distinct worker silos but only {Live} are alive; members will share silos")]
    private static partial void LogTooFewWorkers(ILogger logger, int needed, int live);
}
