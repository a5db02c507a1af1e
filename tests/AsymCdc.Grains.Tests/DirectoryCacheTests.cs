using System.Diagnostics.Metrics;
using System.Reflection;
using AsymCdc.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.GrainDirectory;

namespace AsymCdc.Grains.Tests;

/// <summary>
/// Orleans' directory caches are sized for what an AsymCDC silo puts in them (<see cref="PlacementOnlyDirectory.OrleansCacheSize"/>):
/// every silo walks all the buckets of the distributed directory's cache at every membership change, so a cache sized
/// for a million grains costs every silo milliseconds at the moment a death is declared or a silo joins.
/// </summary>
[Collection(StragglerClusterCollection.Name)]
public sealed class DirectoryCacheTests(StragglerClusterFixture fixture)
{
    [Fact]
    public void Every_silo_sizes_the_directory_caches_for_its_own_grains_not_a_million()
    {
        Assert.All(fixture.Cluster.Silos, silo =>
            Assert.Equal(PlacementOnlyDirectory.OrleansCacheSize,
                silo.ServiceProvider.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value.CacheSize));
    }

    [Fact]
    public void No_grain_of_ours_uses_the_distributed_directory_whose_cache_every_membership_change_walks()
    {
        var grains = typeof(FrontendGrain).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Grain).IsAssignableFrom(t)).ToList();

        Assert.NotEmpty(grains);
        Assert.All(grains, grain => Assert.Equal(PlacementOnlyDirectory.Name, grain.GetCustomAttribute<GrainDirectoryAttribute>()?.GrainDirectoryName));
    }

    [Fact]
    public async Task Serving_every_mode_keeps_the_directory_caches_far_inside_their_size()
    {
        foreach (var mode in Enum.GetValues<ServingMode>())
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                fixture.Client.PredictAsync(TestModels.Data.Image(i).ToArray(), mode).WaitAsync(TimeSpan.FromSeconds(30))));
        }

        var factories = fixture.Cluster.Silos.Select(s => (object)s.ServiceProvider.GetRequiredService<IMeterFactory>()).ToHashSet();
        var entries = new List<int>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "orleans-directory-cache-size" && instrument.Meter.Scope is { } scope && factories.Contains(scope))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => entries.Add(value));
        listener.Start();
        listener.RecordObservableInstruments();

        // One gauge per silo (the sum of its caches): the frontend keys the client called and the parity groups.
        Assert.Equal(fixture.Cluster.Silos.Count, entries.Count);
        Assert.InRange(entries.Sum(), 1, PlacementOnlyDirectory.OrleansCacheSize / 8);
    }
}
