using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AsymCdc.Hosting;

/// <summary>The web host in front of a <see cref="LocalCluster"/> (<c>asymcdc serve</c>): the silo host's endpoints
/// (<see cref="FrontendEndpoints"/>) answered for the in-process frontend silo.</summary>
public static class LocalClusterGateway
{
    /// <summary>The KServe v2 gateway (readiness is its default probe prediction), the silo health endpoints
    /// (<c>/health/*</c>, the frontend silo's checks) and Prometheus <c>/metrics</c> on <paramref name="url"/> (port 0
    /// picks a free one); the KServe v2 gRPC service on <paramref name="grpcUrl"/> when given.</summary>
    public static WebApplication Build(LocalCluster cluster, string url, bool verbose = false, string? grpcUrl = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Warning : LogLevel.Error);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        // Kestrel's named endpoints take the same URLs as UseUrls, and each its own protocols: gRPC is HTTP/2 cleartext
        // with prior knowledge, which cannot share a port with HTTP/1.1 (as asymcdc-silo's GrpcPort).
        var endpoints = new Dictionary<string, string?> { ["Kestrel:Endpoints:Http:Url"] = url };
        if (grpcUrl is not null)
        {
            endpoints["Kestrel:Endpoints:Grpc:Url"] = grpcUrl;
            endpoints["Kestrel:Endpoints:Grpc:Protocols"] = "Http2";
        }

        builder.Configuration.AddInMemoryCollection(endpoints);
        builder.Services.AddSingleton<IGrainFactory>(cluster.Client);
        builder.Services.AddSingleton(cluster.Frontend.Services.GetRequiredService<Grains.IModelCatalog>());
        // One exporter sees every silo's serving meter: they all run in this process.
        builder.Services.AddAsymCdcHealthChecks(cluster.Frontend.Services.GetRequiredService<SiloReadiness>());
        builder.AddAsymCdcEndpoints(gateway: true);
        return builder.Build().MapAsymCdcEndpoints(gateway: true);
    }
}
