using AsymCdc.Serving;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

namespace AsymCdc.Grains;

public static class ServiceCollectionExtensions
{
    /// <summary>The services every AsymCDC silo needs, whatever its roles: membership/role view, placement,
    /// instruments, admission control, decoders and straggler injection. Options are bound by the hosting layer.</summary>
    public static IServiceCollection AddAsymCdcGrainServices(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new WorkerSuspicion(sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<ServingOptions>>().Value.SuspectProbation));
        services.TryAddSingleton<WorkerDirectory>();
        services.TryAddSingleton<ServingInstruments>();
        services.TryAddSingleton<AdmissionControl>();
        services.TryAddSingleton<SiloActivity>();
        services.TryAddSingleton<DecoderSet>();
        services.TryAddSingleton<StragglerInjector>();
        services.TryAddSingleton(sp =>
        {
            var serving = sp.GetRequiredService<IOptions<ServingOptions>>().Value;
            // Before any sample the deadline is the configured fixed one (clamped).
            var deadline = new StragglerDeadline(sp.GetRequiredService<TimeProvider>(), serving.AdaptiveDeadlineQuantile,
                serving.AdaptiveDeadlineFloor, serving.AdaptiveDeadlineCap, serving.AdaptiveDeadlineWindow, serving.StragglerDeadline);
            sp.GetRequiredService<ServingInstruments>().ObserveDeadline(deadline);
            return deadline;
        });
        if (!services.Any(d => d.ServiceType == typeof(KeyedSiloPlacementDirector)))
        {
            services.AddPlacementDirector<KeyedSiloPlacement, KeyedSiloPlacementDirector>();
            services.AddPlacementDirector<FrontendPlacement, FrontendPlacementDirector>();
            services.AddSingleton<KeyedSiloPlacementDirector>();
            services.AddGrainDirectory(PlacementOnlyDirectory.Name, static (_, _) => new PlacementOnlyDirectory());
            services.Configure<GrainDirectoryOptions>(static o => o.CacheSize = PlacementOnlyDirectory.OrleansCacheSize);
        }

        return services;
    }
}
