using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AsymCdc.Hosting;

/// <summary>The web host in front of a <see cref="LocalCluster"/> (<c>asymcdc serve</c>): the silo host's endpoints
/// (<see cref="FrontendEndpoints"/>) answered for the in-process frontend silo.</summary>
public static class LocalClusterGateway
{
    /// <summary>The KServe v2 gateway (readiness is its default probe prediction), the silo health endpoints
    /// (<c>/health/*</c>, the frontend silo's checks) and Prometheus <c>/metrics</c> on <paramref name="url"/> (port 0
    /// picks a free one).</summary>
    public static WebApplication Build(LocalCluster cluster, string url, bool verbose = false)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Warning : LogLevel.Error);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.WebHost.UseUrls(url);
        builder.Services.AddSingleton<IGrainFactory>(cluster.Client);
        builder.Services.AddSingleton(cluster.Frontend.Services.GetRequiredService<Grains.IModelCatalog>());
        // One exporter sees every silo's serving meter: they all run in this process.
        builder.Services.AddAsymCdcHealthChecks(cluster.Frontend.Services.GetRequiredService<SiloReadiness>());
        builder.AddAsymCdcEndpoints(gateway: true);
        return builder.Build().MapAsymCdcEndpoints(gateway: true);
    }
}
