using System.Net;
using AsymCdc.Gateway.KServe;
using AsymCdc.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc serve --grpc-port</c>: the option is checked, and the command serves the KServe v2 gRPC service
/// (HTTP/2 cleartext) next to the HTTP gateway, and says where.</summary>
[Collection(ServeCollection.Name)]
public sealed class ServeGrpcTests
{
    [Fact]
    public void The_grpc_port_defaults_to_the_silos_and_zero_turns_it_off()
    {
        Assert.Equal(8081, new ServeCommand.Settings().GrpcPort);
        Assert.Equal(new SiloOptions().GrpcPort, new ServeCommand.Settings().GrpcPort);
        Assert.True(new ServeCommand.Settings().Validate().Successful);
        Assert.True(new ServeCommand.Settings { GrpcPort = 0 }.Validate().Successful);
    }

    [Theory]
    [InlineData("127.0.0.1:8080", -1)]
    [InlineData("127.0.0.1:8080", 65536)]
    [InlineData("127.0.0.1:9000", 9000)]
    public void A_bad_grpc_port_is_refused_naming_the_option(string http, int grpcPort)
    {
        var result = new ServeCommand.Settings { Http = http, GrpcPort = grpcPort }.Validate();

        Assert.False(result.Successful);
        Assert.Contains($"--grpc-port {grpcPort}", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_answers_grpc_next_to_http_on_the_port_it_prints()
    {
        var ports = FreePorts.Take(2);
        var (httpPort, grpcPort) = (ports[0], ports[1]);
        string[] args = ["serve", "--http", $"127.0.0.1:{httpPort}", "--grpc-port", $"{grpcPort}", "--workers", "3"];
        if (Environment.GetEnvironmentVariable("ASYMCDC_MODELS") is { Length: > 0 } models)
        {
            args = [.. args, "--models", models];
        }

        // serve prints through the static console; the collection runs alone, so borrowing it is safe.
        var printed = new StringWriter();
        var console = AnsiConsole.Console;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(printed), Interactive = InteractionSupport.No });
        using var stop = new CancellationTokenSource();
        var app = new CommandApp();
        app.Configure(config =>
        {
            AsymCdcCommandLine.Configure(config);
            config.PropagateExceptions();
        });
        var serve = app.RunAsync(args, stop.Token);
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));

            // The port opens once the in-process cluster has started; ready once the gateway's probe prediction goes through.
            while (!await IsReadyAsync(grpc, timeout.Token))
            {
                Assert.False(serve.IsCompleted, $"serve ended before it served gRPC: {printed}");
                await poll.WaitForNextTickAsync(timeout.Token);
            }

            Assert.True((await grpc.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: timeout.Token)).Live);
            // One serve process serves every classifier of the repository, ours and the stand-in user models.
            foreach (var model in (string[])["fmnist", "fmnist-cnn", "digits-mlp"])
            {
                Assert.True((await grpc.ModelReadyAsync(new ModelReadyRequest { Name = model }, cancellationToken: timeout.Token)).Ready, model);
            }

            var digits = new ModelInferRequest { ModelName = "digits-mlp" };
            var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
            input.Shape.AddRange([2, 1, 8, 8]);
            input.Contents = new InferTensorContents();
            input.Contents.Fp32Contents.AddRange(new float[128]);
            digits.Inputs.Add(input);
            var answer = await grpc.ModelInferAsync(digits, cancellationToken: timeout.Token);
            Assert.Equal([2L, 10], answer.Outputs[0].Shape);
            var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
                await grpc.ModelReadyAsync(new ModelReadyRequest { Name = "no-such-model" }, cancellationToken: timeout.Token));
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

            // The HTTP gateway still answers on its own port: gRPC's HTTP/2-only endpoint is a second listener.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready", timeout.Token)).StatusCode);
            Assert.Contains($"http://127.0.0.1:{grpcPort}", printed.ToString(), StringComparison.Ordinal);
            var index = await http.PostAsync("/v2/repository/index", new StringContent("{}"), timeout.Token);
            var listed = await index.Content.ReadAsStringAsync(timeout.Token);
            Assert.All((string[])["\"fmnist\"", "\"fmnist-cnn\"", "\"digits-mlp\""], name => Assert.Contains(name, listed, StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            var exit = await serve.WaitAsync(TimeSpan.FromMinutes(1));
            AnsiConsole.Console = console;
            Assert.Equal(0, exit);
        }
    }

    private static async Task<bool> IsReadyAsync(GRPCInferenceService.GRPCInferenceServiceClient grpc, CancellationToken cancellationToken)
    {
        try
        {
            return (await grpc.ServerReadyAsync(new ServerReadyRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken)).Ready;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            return false; // not listening yet
        }
    }
}

/// <summary>Tests that run <c>serve</c> itself: they borrow the static console, so nothing else runs beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServeCollection
{
    public const string Name = "serve";
}
