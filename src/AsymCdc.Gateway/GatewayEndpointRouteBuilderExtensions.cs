using AsymCdc.Gateway;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

public static class GatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the Open Inference Protocol (KServe v2) REST endpoints under <c>/v2</c>: server metadata,
    /// <c>health/live</c>, <c>health/ready</c>, and model metadata, readiness and <c>infer</c> for
    /// <c>fmnist</c> (also under <c>versions/1</c>). Call <c>services.AddAsymCdcGateway()</c> first.
    /// </summary>
    public static RouteGroupBuilder MapAsymCdcGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var gateway = endpoints.ServiceProvider.GetService<InferenceGateway>()
            ?? throw new InvalidOperationException("MapAsymCdcGateway needs the gateway's services; call services.AddAsymCdcGateway() when configuring the host.");

        var v2 = endpoints.MapGroup("/v2");
        v2.MapGet("/", gateway.ServerMetadataAsync);
        v2.MapGet("/health/live", gateway.LiveAsync);
        v2.MapGet("/health/ready", gateway.ReadyAsync);
        foreach (var model in (string[])["/models/{model}", "/models/{model}/versions/{version}"])
        {
            v2.MapGet(model, gateway.ModelMetadataAsync);
            v2.MapGet(model + "/ready", gateway.ModelReadyAsync);
            v2.MapPost(model + "/infer", gateway.InferAsync);
        }

        return v2;
    }
}
