using AsymCdc.Gateway;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Open Inference Protocol gateway (REST and gRPC): options from <c>AsymCdc:Gateway</c> (validated at
    /// start-up), then <paramref name="configure"/>. Needs an <see cref="IGrainFactory"/> (a frontend silo or an Orleans
    /// client). It serves the models registered with <see cref="AddAsymCdcGatewayModel"/>, Fashion-MNIST when none is;
    /// register an <see cref="IServedModelCatalog"/> to take them from elsewhere. Readiness defaults to a probe
    /// prediction; register an <see cref="IGatewayReadiness"/> (or call <see cref="AddAsymCdcGatewayReadiness"/>) to use
    /// the host's own check instead.
    /// </summary>
    public static IServiceCollection AddAsymCdcGateway(this IServiceCollection services, Action<GatewayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new GatewayInstruments(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<IGatewayReadiness, FrontendProbeReadiness>();
        services.TryAddSingleton<IServedModelCatalog>(sp =>
        {
            var models = sp.GetServices<ServedModel>().ToList();
            return new ServedModelCatalog(models.Count > 0 ? models : [ServedModels.FashionMnist]);
        });
        services.TryAddSingleton<PredictionFanOut>();
        services.TryAddSingleton<InferenceGateway>();
        services.AddGrpc();
        // gRPC's default 4 MB message limit would refuse a full batch of a larger model or MaxBatchSize before the
        // gateway could say why; allow the largest valid request (raw or packed FP32) and some room for its framing.
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<GatewayOptions>, IServedModelCatalog>((grpc, gateway, catalog) =>
            grpc.MaxReceiveMessageSize = Math.Max(grpc.MaxReceiveMessageSize ?? 0, GrpcMessageLimit(gateway.Value, catalog)));
        services.TryAddSingleton<InferenceGrpcService>();
        return services;
    }

    /// <summary>Bytes of the largest infer request the gateway accepts over gRPC: MaxBatchSize items of the largest
    /// input as float32, plus 1 MiB for names, shapes, parameters and protobuf framing.</summary>
    internal static int GrpcMessageLimit(GatewayOptions gateway, IServedModelCatalog catalog)
    {
        var largestItem = catalog.Models.Max(m => (long)m.Input.ItemLength);
        return (int)Math.Min(int.MaxValue, (gateway.MaxBatchSize * largestItem * sizeof(float)) + (1 << 20));
    }

    /// <summary>Adds <paramref name="model"/> to the models the gateway serves (over REST and gRPC). Once any model is
    /// registered, the gateway serves exactly the registered ones, so register Fashion-MNIST
    /// (<see cref="ServedModels.FashionMnist"/>) too where it should stay.</summary>
    public static IServiceCollection AddAsymCdcGatewayModel(this IServiceCollection services, ServedModel model)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(model);
        services.AddSingleton(model);
        return services;
    }

    /// <summary>Makes <paramref name="isReady"/> (e.g. "this silo has joined and its models are loaded") the
    /// gateway's readiness, replacing the default probe prediction.</summary>
    public static IServiceCollection AddAsymCdcGatewayReadiness(this IServiceCollection services, Func<IServiceProvider, CancellationToken, ValueTask<bool>> isReady)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(isReady);
        services.RemoveAll<IGatewayReadiness>();
        services.AddSingleton<IGatewayReadiness>(sp => new DelegateGatewayReadiness(ct => isReady(sp, ct)));
        return services;
    }
}
