using AsymCdc.Gateway;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

public static class GatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the Open Inference Protocol (KServe v2) REST endpoints under <c>/v2</c>: server metadata,
    /// <c>health/live</c>, <c>health/ready</c>, the repository index (<c>POST repository/index</c>), and model metadata,
    /// readiness and <c>infer</c> (JSON or binary tensor data) for every served model, also under
    /// <c>versions/{version}</c>. Call <c>services.AddAsymCdcGateway()</c> first.
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
        v2.MapPost("/repository/index", gateway.RepositoryIndexAsync);
        foreach (var model in (string[])["/models/{model}", "/models/{model}/versions/{version}"])
        {
            v2.MapGet(model, gateway.ModelMetadataAsync);
            v2.MapGet(model + "/ready", gateway.ModelReadyAsync);
            v2.MapPost(model + "/infer", gateway.InferAsync);
        }

        return v2;
    }

    /// <summary>
    /// Maps the KServe v2 gRPC service <c>inference.GRPCInferenceService</c> (ServerLive, ServerReady, ModelReady,
    /// ServerMetadata, ModelMetadata, ModelInfer) for the same models and prediction path as the REST endpoints. gRPC
    /// needs HTTP/2: serve it on a Kestrel endpoint whose protocol is <c>Http2</c> (cleartext, prior knowledge).
    /// Call <c>services.AddAsymCdcGateway()</c> first.
    /// </summary>
    public static GrpcServiceEndpointConventionBuilder MapAsymCdcGrpc(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _ = endpoints.ServiceProvider.GetService<InferenceGrpcService>()
            ?? throw new InvalidOperationException("MapAsymCdcGrpc needs the gateway's services; call services.AddAsymCdcGateway() when configuring the host.");
        return endpoints.MapGrpcService<InferenceGrpcService>();
    }
}
