using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AsymCdc.Gateway.KServe;
using AsymCdc.Hosting;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AsymCdc.Gateway.Tests;

/// <summary>
/// The production shape: the gateway mounted in a frontend silo's own web host (what <c>asymcdc-silo</c> and
/// <c>asymcdc serve --http</c> do), calling the frontend grain through the silo's grain factory, in-process.
/// One silo with both roles, as the default configuration runs it.
/// </summary>
public sealed class GatewayInSiloTests : IAsyncLifetime
{
    private WebApplication? _silo;
    private HttpClient? _http;
    private GrpcChannel? _grpc;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var ports = FreePorts.Take(2);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AsymCdc:Silo:Roles"] = "frontend,gpu-worker",
            ["AsymCdc:Silo:ClusterId"] = $"gw-{Guid.NewGuid():N}"[..16],
            ["AsymCdc:Silo:SiloPort"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AsymCdc:Silo:GatewayPort"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AsymCdc:Inference:ModelRepository"] = Environment.GetEnvironmentVariable("ASYMCDC_MODEL_REPOSITORY") ?? ModelRepositoryLocator.Find(),
            ["AsymCdc:Serving:StragglerDeadline"] = "00:00:02",
            ["AsymCdc:Serving:RequestTimeout"] = "00:00:30",
        });
        builder.Logging.ClearProviders();
        ListenOptions? grpc = null;
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            // As asymcdc-silo's GrpcPort: HTTP/2 cleartext (prior knowledge) on an endpoint of its own.
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                grpc = listen;
            });
        });

        // The lines a frontend host adds to mount the gateway:
        builder.AddAsymCdcSilo();
        builder.Services.AddAsymCdcGateway(gateway => gateway.ReadinessProbeTimeout = TimeSpan.FromSeconds(30));
        var app = builder.Build();
        app.MapAsymCdcGateway();
        app.MapAsymCdcGrpc();

        await app.StartAsync();
        _silo = app;
        var grpcPort = grpc!.IPEndPoint!.Port;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Single(a => new Uri(a).Port != grpcPort);
        _http = new HttpClient { BaseAddress = new Uri(address) };
        _grpc = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        _grpc?.Dispose();
        if (_silo is not null)
        {
            await _silo.StopAsync();
            await _silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_frontend_silo_serves_the_gateway_REST_and_gRPC_through_its_own_grain_factory()
    {
        // A silo that has just started is not ready until it sees itself as a worker; wait as a load balancer would.
        await WaitUntilReadyAsync(_http!, TimeSpan.FromMinutes(1));

        const int start = 500;
        const int images = 8;
        var testSet = FashionMnist.LoadTestSet();
        var body = InferRequestParserTests.Body(
            shape: $"[{images},1,28,28]", data: InferRequestParserTests.Flat(testSet.Slice(start, images).Span), parameters: """{"mode":"none"}""");
        using var response = await _http!.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await GatewayEndToEndTests.JsonAsync(response);
        var labels = answer.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label")
            .GetProperty("data").EnumerateArray().Select(l => l.GetInt64()).ToArray();
        var correct = labels.Where((label, i) => label == testSet.Labels[start + i]).Count();
        Assert.True(correct >= 6, $"{correct} of {images} test images classified correctly; expected at least 6");
        Assert.All(answer.GetProperty("parameters").GetProperty("served_by").EnumerateArray(), s => Assert.Equal("direct", s.GetString()));

        await AssertServesGrpcAsync();
    }

    /// <summary>The same silo answers KServe gRPC on its HTTP/2 endpoint (one silo start serves both checks).</summary>
    private async Task AssertServesGrpcAsync()
    {
        const int start = 900;
        const int images = 4;
        var testSet = FashionMnist.LoadTestSet();
        var request = new ModelInferRequest { ModelName = "fmnist" };
        request.Parameters["mode"] = new InferParameter { StringParam = "none" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { images, 1, 28, 28 } };
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(GatewayBinaryTests.Bytes(testSet.Slice(start, images).Span)));

        var client = new GRPCInferenceService.GRPCInferenceServiceClient(_grpc!);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var response = await client.ModelInferAsync(request);

        var labels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(response.RawOutputContents[1].Span).ToArray();
        Assert.Equal(images, labels.Length);
        Assert.True(labels.Where((label, i) => label == testSet.Labels[start + i]).Count() >= 3, "most test images are classified correctly");
        Assert.All(response.Parameters["served_by"].StringParam.Split(','), s => Assert.Equal("direct", s));
    }

    private static async Task WaitUntilReadyAsync(HttpClient http, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (true)
        {
            using (var ready = await http.GetAsync("/v2/health/ready", cancel.Token))
            {
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            }

            await poll.WaitForNextTickAsync(cancel.Token);
        }
    }
}
