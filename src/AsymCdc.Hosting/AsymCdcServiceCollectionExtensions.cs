using AsymCdc.Grains;
using AsymCdc.Inference;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

public static class AsymCdcServiceCollectionExtensions
{
    /// <summary>
    /// What every AsymCDC silo needs: the serving, straggler and silo options (bound from <c>AsymCdc:*</c>, validated at
    /// start-up), the model repository (a <see cref="ModelRepository"/> registered beforehand, e.g. one shared by
    /// in-process silos, is kept), its grain-facing catalog, and the grain services. Idempotent.
    /// </summary>
    public static IServiceCollection AddAsymCdcServing(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(ServingMarker)))
        {
            return services;
        }

        services.AddSingleton<ServingMarker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServingOptions>, ServingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StragglerOptions>, StragglerOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>());
        services.AddOptions<ServingOptions>().Bind(configuration.GetSection(ServingOptions.SectionName)).ValidateOnStart();
        services.AddOptions<StragglerOptions>().Bind(configuration.GetSection(StragglerOptions.SectionName)).ValidateOnStart();
        services.AddOptions<SiloOptions>().Bind(configuration.GetSection(SiloOptions.SectionName)).ValidateOnStart();
        services.AddAsymCdcInference(configuration);
        services.TryAddSingleton<IModelCatalog>(sp => new ModelRepositoryCatalog(sp.GetRequiredService<ModelRepository>()));
        services.TryAddSingleton<SiloReadiness>();
        services.AddAsymCdcGrainServices();
        if (!services.Any(d => d.ServiceType == typeof(GracefulLeave)))
        {
            services.AddSingleton<GracefulLeave>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<GracefulLeave>());
        }

        return services;
    }

    /// <summary>A gpu-worker silo: hosts <c>ModelWorkerGrain</c> activations (placed here by the keyed-silo director).</summary>
    public static IServiceCollection AddAsymCdcWorker(this IServiceCollection services, IConfiguration configuration) =>
        services.AddAsymCdcServing(configuration);

    /// <summary>A frontend silo: hosts frontend and parity-group grains.</summary>
    public static IServiceCollection AddAsymCdcFrontend(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAsymCdcServing(configuration);
        return services;
    }

    /// <summary>A worker's own-call warm-up (<see cref="WorkerWarmup"/>) and a frontend's serving-path warm-up once it is
    /// active (<see cref="FrontendWarmup"/>; it does nothing on a
    /// silo without the frontend role or with <see cref="SiloOptions.WarmUpServingPath"/> off). Idempotent.</summary>
    public static IServiceCollection AddAsymCdcFrontendWarmup(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(FrontendWarmup)))
        {
            services.AddSingleton<FrontendWarmup>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<FrontendWarmup>());
            services.AddSingleton<WorkerWarmup>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerWarmup>());
        }

        return services;
    }

    private sealed class ServingMarker;
}
