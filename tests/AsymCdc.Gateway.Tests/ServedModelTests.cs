using System.Buffers;
using System.Text;
using AsymCdc.Abstractions;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Gateway.Tests;

/// <summary>The model catalogue the protocols work from, and the parts of the protocols that are pure: the binary
/// tensor data parsing and the gRPC status mapping.</summary>
public sealed class ServedModelTests
{
    /// <summary>A second model, registered as a new model would be: input [N,2,3] in [-1, 1], 4 classes.</summary>
    internal static readonly ServedModel Toy = new(
        "toy",
        new ServedInput("features", [2, 3], -1f, 1f),
        [new ServedOutput("class", InferOutputs.Label), new ServedOutput("scores", InferOutputs.Logits)])
    {
        Versions = ["3", "4"],
        Classes = 4,
        ItemNoun = "sample",
    };

    [Fact]
    public void The_default_catalogue_serves_Fashion_MNIST()
    {
        var catalog = Catalog();
        var model = Assert.Single(catalog.Models);
        Assert.Same(ServedModels.FashionMnist, model);
        Assert.Equal([-1L, 1, 28, 28], model.Input.Shape);
        Assert.Equal([-1L, 10], model.ShapeOf(model.Outputs[0]));
    }

    [Fact]
    public void Registered_models_replace_the_default()
    {
        var catalog = Catalog(services => services.AddAsymCdcGatewayModel(ServedModels.FashionMnist).AddAsymCdcGatewayModel(Toy));

        Assert.Equal(["fmnist", "toy"], catalog.Models.Select(m => m.Name));
        Assert.Same(Toy, catalog.Find("toy"));
        Assert.Null(catalog.Find("Toy"));
    }

    [Theory]
    [InlineData("toy", null, "toy", "3", null)]
    [InlineData("toy", "4", "toy", "4", null)]
    [InlineData("toy", "5", null, "", "unknown version '5' of model 'toy'; this gateway serves versions 3, 4")]
    [InlineData("cat", null, null, "", "unknown model 'cat'; this gateway serves 'fmnist', 'toy'")]
    public void A_lookup_finds_the_model_and_version_or_says_what_is_served(string name, string? version, string? model, string resolved, string? notFound)
    {
        var lookup = ModelLookup.Find(new ServedModelCatalog([ServedModels.FashionMnist, Toy]), name, version);

        Assert.Equal(model, lookup.Model?.Name);
        Assert.Equal(resolved, lookup.Version);
        Assert.Equal(notFound, lookup.NotFound);
    }

    [Fact]
    public void A_model_the_gateway_cannot_serve_is_refused_at_start()
    {
        Assert.Contains("registered twice", Assert.Throws<InvalidOperationException>(() => new ServedModelCatalog([Toy, Toy])).Message, StringComparison.Ordinal);
        Assert.Contains("no models", Assert.Throws<InvalidOperationException>(() => new ServedModelCatalog([])).Message, StringComparison.Ordinal);
        Assert.Contains("at least one non-empty version", Assert.Throws<InvalidOperationException>(() => new ServedModelCatalog([Toy with { Versions = [] }])).Message, StringComparison.Ordinal);
        var twoLabels = new ServedModel("x", Toy.Input, [new ServedOutput("a", InferOutputs.Label), new ServedOutput("b", InferOutputs.Label)]);
        Assert.Contains("twice", Assert.Throws<InvalidOperationException>(() => new ServedModelCatalog([twoLabels])).Message, StringComparison.Ordinal);
        var both = new ServedModel("y", Toy.Input, [new ServedOutput("a", InferOutputs.All)]);
        Assert.Contains("exactly one of", Assert.Throws<InvalidOperationException>(() => new ServedModelCatalog([both])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_model_is_parsed_and_checked_by_its_own_declaration()
    {
        var request = Parse(Toy, """{"inputs":[{"name":"features","datatype":"FP32","shape":[2,2,3],"data":[[[-1,0,1],[0.5,0.5,0.5]],[[0,0,0],[1,1,1]]]}],"outputs":[{"name":"scores"}]}""");

        Assert.Equal(2, request.Images.Length);
        Assert.Equal([-1f, 0, 1, 0.5f, 0.5f, 0.5f], request.Images[0]);
        Assert.Equal(InferOutputs.Logits, request.Outputs);

        AssertRejected(Toy, """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2,3],"data":[0,0,0,0,0,0]}]}""", "unknown input 'input'; the model's input is named \"features\"");
        AssertRejected(Toy, """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,3,2],"data":[0,0,0,0,0,0]}]}""", "has shape [1,3,2]; expected [N,2,3] (N samples of 2×3)");
        AssertRejected(Toy, """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,2,3],"data":[0,0,0,0,0,2]}]}""", "data[5] is 2; values must be finite numbers in [-1, 1]");
        AssertRejected(Toy, """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,2,3],"data":[0,0,0,0,0,0]}],"outputs":[{"name":"logits"}]}""", "unknown output 'logits' in outputs[0]; the model has \"class\" and \"scores\"");
        AssertRejected(Toy, """{"inputs":[{"name":"features","datatype":"FP32","shape":[0,2,3],"data":[]}]}""", "send at least one sample");
    }

    [Fact]
    public void Another_model_is_written_with_its_own_names_shapes_and_output_order()
    {
        var predictions = new[] { new Prediction(2, [0.1f, 0.2f, 0.9f, 0.3f], ServedBy.Direct, 1.5, 7, ServingMode.None) };
        var json = new ArrayBufferWriter<byte>();
        InferResponseWriter.WriteInferResponse(json, Toy, "4", null, predictions, InferOutputs.All, binaryOutputs: InferOutputs.Logits);
        var text = Encoding.UTF8.GetString(json.WrittenSpan);

        Assert.StartsWith("""{"model_name":"toy","model_version":"4","outputs":[{"name":"class","datatype":"INT64","shape":[1],"data":[2]},{"name":"scores","datatype":"FP32","shape":[1,4],"parameters":{"binary_data_size":16}}]""", text, StringComparison.Ordinal);
        var binary = new ArrayBufferWriter<byte>();
        InferResponseWriter.WriteBinaryOutputs(binary, Toy, predictions, InferOutputs.Logits);
        Assert.Equal(GatewayBinaryTests.Bytes([0.1f, 0.2f, 0.9f, 0.3f]), binary.WrittenSpan.ToArray());
        Assert.Contains("""{"name":"features","datatype":"FP32","shape":[-1,2,3]}""", Encoding.UTF8.GetString(InferResponseWriter.ModelMetadata(Toy)), StringComparison.Ordinal);
    }

    [Fact]
    public void Binary_input_is_read_from_the_bytes_after_the_JSON()
    {
        float[] values = [0.5f, -0.5f, 1, -1, 0, 0.25f];
        var json = """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,2,3],"parameters":{"binary_data_size":24}}],"parameters":{"binary_data_output":true}}""";
        var header = Encoding.UTF8.GetBytes(json);

        var request = InferRequestParser.Parse(new ReadOnlySequence<byte>([.. header, .. GatewayBinaryTests.Bytes(values)]), Toy, 4, header.Length);

        Assert.Equal(values, Assert.Single(request.Images));
        Assert.Equal(InferOutputs.All, request.BinaryOutputs);
    }

    [Theory]
    [InlineData("""{"binary_data_size":-1}""", "binary_data_size must be a whole number of bytes")]
    [InlineData("""{"binary_data_size":"24"}""", "binary_data_size must be a whole number of bytes")]
    [InlineData("""{"binary_data_size":24}""", "has both \"data\" and parameters.binary_data_size = 24")]
    public void Bad_binary_parameters_are_rejected(string parameters, string expected) =>
        AssertRejected(Toy, $$"""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,2,3],"data":[0,0,0,0,0,0],"parameters":{{parameters}}}]}""", expected);

    [Theory]
    [InlineData("""{"binary_data":"yes"}""", "outputs[0].parameters.binary_data must be true or false")]
    [InlineData("""{"classification":3}""", "outputs[0].parameters.classification is not supported")]
    public void Bad_output_parameters_are_rejected(string parameters, string expected) =>
        AssertRejected(Toy, $$"""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,2,3],"data":[0,0,0,0,0,0]}],"outputs":[{"name":"scores","parameters":{{parameters}}}]}""", expected);

    [Fact]
    public void Binary_outputs_follow_the_output_then_the_request_setting()
    {
        const string input = """{"name":"features","datatype":"FP32","shape":[1,2,3],"data":[0,0,0,0,0,0]}""";
        Assert.Equal((InferOutputs)0, Parse(Toy, $$"""{"inputs":[{{input}}]}""").BinaryOutputs);
        Assert.Equal(InferOutputs.Logits, Parse(Toy, $$$"""{"inputs":[{{{input}}}],"outputs":[{"name":"scores","parameters":{"binary_data":true}},{"name":"class"}]}""").BinaryOutputs);
        Assert.Equal(InferOutputs.Label, Parse(Toy, $$$"""{"inputs":[{{{input}}}],"outputs":[{"name":"scores","parameters":{"binary_data":false}},{"name":"class"}],"parameters":{"binary_data_output":true}}""").BinaryOutputs);
        Assert.Equal(InferOutputs.Label, Parse(Toy, $$$"""{"inputs":[{{{input}}}],"outputs":[{"name":"class"}],"parameters":{"binary_data_output":true}}""").BinaryOutputs);
    }

    [Theory]
    [InlineData(PredictionErrorCode.Overloaded, StatusCode.ResourceExhausted, true)]
    [InlineData(PredictionErrorCode.Unavailable, StatusCode.Unavailable, true)]
    [InlineData(PredictionErrorCode.DeadlineExceeded, StatusCode.DeadlineExceeded, false)]
    [InlineData(PredictionErrorCode.UnknownModel, StatusCode.NotFound, false)]
    [InlineData(PredictionErrorCode.InvalidInput, StatusCode.InvalidArgument, false)]
    [InlineData(PredictionErrorCode.BatchTooLarge, StatusCode.InvalidArgument, false)]
    public void Prediction_errors_map_to_gRPC_status_keeping_the_cluster_message(PredictionErrorCode code, StatusCode status, bool pushback)
    {
        var error = InferenceGrpcService.ToRpcException(new PredictionException(code, $"message for {code}"), TimeSpan.FromSeconds(2));

        Assert.Equal(status, error.StatusCode);
        Assert.Equal($"message for {code}", error.Status.Detail);
        Assert.Equal(pushback ? "2000" : null, error.Trailers.GetValue(InferenceGrpcService.RetryPushbackTrailer));
    }

    [Fact]
    public void Unexpected_failures_are_INTERNAL_without_their_message()
    {
        var error = InferenceGrpcService.ToRpcException(new InvalidOperationException("secret detail"), TimeSpan.FromSeconds(1));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("secret", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.DeadlineExceeded, InferenceGrpcService.ToRpcException(new TimeoutException("late"), TimeSpan.FromSeconds(1)).StatusCode);
    }

    [Fact]
    public void The_gRPC_message_limit_fits_the_largest_batch_of_the_largest_model()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddAsymCdcGateway(gateway => gateway.MaxBatchSize = 4096).AddAsymCdcGatewayModel(ServedModels.FashionMnist);
        using var provider = services.BuildServiceProvider();

        var limit = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>>().Value.MaxReceiveMessageSize;

        Assert.Equal((4096 * 784 * 4) + (1 << 20), limit);
    }

    private static IServedModelCatalog Catalog(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAsymCdcGateway();
        configure?.Invoke(services);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IServedModelCatalog>();
    }

    private static InferRequest Parse(ServedModel model, string json) =>
        InferRequestParser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)), model, 4, jsonLength: null);

    private static void AssertRejected(ServedModel model, string json, string expected)
    {
        var error = Assert.Throws<InferRequestException>(() => Parse(model, json));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
