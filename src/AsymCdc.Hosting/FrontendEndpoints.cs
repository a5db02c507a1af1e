using AsymCdc.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace AsymCdc.Hosting;

/// <summary>
/// The HTTP surface of a silo host: health (<c>/health/*</c>), Prometheus <c>/metrics</c> and, on a frontend, the
/// KServe v2 gateway, REST and gRPC. One wiring for <c>asymcdc-silo</c> and <c>asymcdc serve</c>; each registers its own
/// health checks (<see cref="HealthEndpoints"/>) and its Kestrel endpoints (gRPC needs an HTTP/2 one:
/// <see cref="SiloOptions.GrpcPort"/>).
/// </summary>
public static class FrontendEndpoints
{
    /// <summary>Telemetry with the Prometheus exporter and, when <paramref name="gateway"/>, the gateway's services.</summary>
    public static IHostApplicationBuilder AddAsymCdcEndpoints(this IHostApplicationBuilder builder, bool gateway)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddAsymCdcTelemetry(builder.Configuration, GatewayInstruments.MeterName)
            .WithMetrics(metrics => metrics.AddPrometheusExporter());
        if (gateway)
        {
            // The gateway serves what the model repository serves (needs the host's IModelCatalog).
            builder.Services.TryAddSingleton(sp => RepositoryServedModels.Catalog(sp.GetRequiredService<Grains.IModelCatalog>()));
            builder.Services.AddAsymCdcGateway();
        }

        return builder;
    }

    /// <summary>Maps what <see cref="AddAsymCdcEndpoints"/> registered.</summary>
    public static WebApplication MapAsymCdcEndpoints(this WebApplication app, bool gateway)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapAsymCdcHealth();
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (gateway)
        {
            app.MapAsymCdcGateway();
            app.MapAsymCdcGrpc();
        }

        return app;
    }
}
