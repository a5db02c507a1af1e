using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// The worker silos that joined this silo's view less than <see cref="Window"/> ago
/// (<see cref="ServingOptions.NewWorkerParityOnly"/>): <see cref="WorkerDirectory.Pick"/> puts them last. The workers of
/// the first view are not new (the cluster is starting, every one is cold alike). Not thread-safe: the directory calls
/// it under its lock.
/// </summary>
public sealed class NewcomerWindow(TimeSpan window, TimeProvider time)
{
    private readonly Dictionary<SiloAddress, long> _arrivals = [];
    private SiloAddress[] _known = [];
    private bool _seeded;

    public TimeSpan Window { get; } = window;

    /// <summary>Newcomers noted and not yet forgotten (<see cref="ForgetSeasoned"/>).</summary>
    public int Count => _arrivals.Count;

    /// <summary>Takes a new view of the live workers; returns the ones that joined since the last (none for the first
    /// view, or with an empty window). A worker gone from the view is forgotten.</summary>
    public IReadOnlyList<SiloAddress> Note(SiloAddress[] workers)
    {
        ArgumentNullException.ThrowIfNull(workers);
        List<SiloAddress> joined = [];
        if (_seeded && Window > TimeSpan.Zero)
        {
            var now = time.GetTimestamp();
            foreach (var silo in workers)
            {
                if (Array.IndexOf(_known, silo) < 0)
                {
                    _arrivals[silo] = now;
                    joined.Add(silo);
                }
            }
        }

        foreach (var silo in _arrivals.Keys)
        {
            if (Array.IndexOf(workers, silo) < 0)
            {
                _arrivals.Remove(silo);
            }
        }

        _seeded |= workers.Length > 0;
        _known = workers;
        return joined;
    }

    /// <summary>Forgets every newcomer that joined <see cref="Window"/> ago or more, picked since or not.</summary>
    public void ForgetSeasoned()
    {
        foreach (var (silo, arrived) in _arrivals)
        {
            if (time.GetElapsedTime(arrived) >= Window)
            {
                _arrivals.Remove(silo);
            }
        }
    }

    /// <summary>Whether <paramref name="silo"/> is a newcomer not yet forgotten.</summary>
    public bool Contains(SiloAddress silo) => _arrivals.ContainsKey(silo);
}
