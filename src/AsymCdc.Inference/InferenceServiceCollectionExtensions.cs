using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AsymCdc.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="InferenceOptions"/> (bound from <c>AsymCdc:Inference</c>, validated at start-up),
    /// the <see cref="ModelRepository"/> singleton, and a hosted service that opens and warms it when the
    /// host starts, so a missing model or an unavailable CUDA stops start-up with one clear message.
    /// </summary>
    public static IServiceCollection AddAsymCdcInference(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(InferenceMarker)))
        {
            return services; // idempotent: hosting layers may each ask for inference
        }

        services.AddSingleton<InferenceMarker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>());
        var section = configuration.GetSection(InferenceOptions.SectionName);
        services.AddOptions<InferenceOptions>()
            .Bind(section)
            .Configure(options =>
            {
                // The binder fills a list only from indexed keys (Models:0); also accept one
                // comma-separated value, the natural form for an environment variable.
                if (section[nameof(InferenceOptions.Models)] is { Length: > 0 } list)
                {
                    options.Models.Add(list);
                }
            })
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => ModelRepository.Open(
            sp.GetRequiredService<IOptions<InferenceOptions>>().Value,
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<IMeterFactory>()));
        services.AddHostedService<ModelRepositoryStartup>();
        return services;
    }

    private sealed class InferenceMarker;
}

/// <summary>Opens and warms the model repository during host start-up.</summary>
internal sealed class ModelRepositoryStartup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        services.GetRequiredService<ModelRepository>().WarmUpAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
