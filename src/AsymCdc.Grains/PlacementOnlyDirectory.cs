using Orleans.GrainDirectory;
using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// The grain directory of the grains whose placement alone says where they live: model workers (their key names their
/// silo), parity groups (the calling frontend), frontends and decoders (stateless workers, the calling silo). None of
/// them registers an activation (their placement strategies opt out of the directory), so there is nothing to look up,
/// and this directory answers every lookup with "not registered" at once, on the calling silo.
/// </summary>
/// <remarks>
/// With Orleans' default distributed directory, each first call from a silo to such a grain would still look its id up
/// in the directory partition that owns its hash, on whichever silo that is. When that silo has just died, the lookup
/// retries until membership declares it dead (seconds), and calls to grains on perfectly healthy silos fail: a frontend
/// that took over the load of a killed frontend refused hundreds of queries that way in the chaos drill.
/// </remarks>
public sealed class PlacementOnlyDirectory : IGrainDirectory
{
    /// <summary>The name the grains above carry in their <see cref="GrainDirectoryAttribute"/>.</summary>
    public const string Name = "asymcdc-placement";

    /// <summary>
    /// The size of Orleans' own directory caches in an AsymCDC silo (<see cref="Orleans.Configuration.GrainDirectoryOptions.CacheSize"/>,
    /// 1,000,000 by default). Each is a dictionary allocated at that capacity, and every silo walks all the buckets of
    /// the distributed directory's cache at every membership change (<c>LocalGrainDirectory.AdjustLocalCache</c>): 8 MB
    /// read, 2.2 ms warm and 27 ms the first time (page faults) on this project's 2-core machine, in every silo at once
    /// when a death is declared or a silo joins. No grain of ours uses that directory, so its cache stays empty; this
    /// directory's cache holds the frontend keys clients call and the parity groups (55 entries after every mode in the
    /// test cluster). Past this size the oldest are evicted, and a miss costs one <see cref="Lookup"/>, answered at once.
    /// </summary>
    public const int OrleansCacheSize = 8192;

    public Task<GrainAddress?> Register(GrainAddress address) => Task.FromResult<GrainAddress?>(address);

    public Task Unregister(GrainAddress address) => Task.CompletedTask;

    public Task<GrainAddress?> Lookup(GrainId grainId) => Task.FromResult<GrainAddress?>(null);

    public Task UnregisterSilos(List<SiloAddress> siloAddresses) => Task.CompletedTask;
}
