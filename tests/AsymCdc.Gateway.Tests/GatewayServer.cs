using System.Net;
using AsymCdc.Gateway.KServe;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AsymCdc.Gateway.Tests;

/// <summary>The gateway on real Kestrel at 127.0.0.1, REST on one free port and gRPC (HTTP/2 cleartext) on another,
/// calling a real cluster through <paramref name="grains"/> (the cluster client), mounted the way a frontend host mounts it.</summary>
internal sealed class GatewayServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayServer(WebApplication app, Uri address, Uri grpcAddress)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = address };
        GrpcChannel = GrpcChannel.ForAddress(grpcAddress);
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(GrpcChannel);
    }

    public HttpClient Http { get; }

    public GrpcChannel GrpcChannel { get; }

    /// <summary>A KServe v2 gRPC client of this gateway.</summary>
    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The REST routes the gateway mapped (under /v2, so not gRPC's), as (method, pattern) pairs.</summary>
    public IReadOnlyList<(string Method, string Pattern)> Routes =>
    [
        .. _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/v2", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, e.RoutePattern.RawText!))),
    ];

    public static async Task<GatewayServer> StartAsync(IGrainFactory grains, Action<GatewayOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions? grpc = null;
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            // gRPC: HTTP/2 with prior knowledge, which needs an endpoint of its own (as the silo's GrpcPort).
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                grpc = listen;
            });
        });
        builder.Services.AddSingleton(grains);
        builder.Services.AddAsymCdcGateway(configure);

        var app = builder.Build();
        app.MapAsymCdcGateway();
        app.MapAsymCdcGrpc();
        await app.StartAsync();

        // Port 0 lets the OS pick; the bound ports are only known once Kestrel listens.
        var grpcPort = grpc!.IPEndPoint!.Port;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Single(a => new Uri(a).Port != grpcPort);
        return new GatewayServer(app, new Uri(address), new Uri($"http://127.0.0.1:{grpcPort}"));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        GrpcChannel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
