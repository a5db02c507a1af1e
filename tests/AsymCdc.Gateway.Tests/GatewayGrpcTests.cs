using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using AsymCdc.Gateway.KServe;
using AsymCdc.Inference.Data;
using Google.Protobuf;
using Grpc.Core;

namespace AsymCdc.Gateway.Tests;

/// <summary>The KServe v2 gRPC service through Grpc.Net.Client over HTTP/2 cleartext, in front of a real cluster: the
/// same answers as the REST path, NOT_FOUND and INVALID_ARGUMENT with messages naming the problem.</summary>
[Collection(GatewayClusterCollection.Name)]
public sealed class GatewayGrpcTests(GatewayClusterFixture fixture)
{
    private const int Images = 8;
    private static readonly Lazy<FashionMnistSet> TestSet = new(() => FashionMnist.LoadTestSet());
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _grpc = fixture.Grpc;

    [Fact]
    public async Task Server_is_live_and_ready()
    {
        Assert.True((await _grpc.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await _grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
    }

    [Fact]
    public async Task Server_metadata_names_the_server_and_its_extensions()
    {
        var metadata = await _grpc.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("asymcdc", metadata.Name);
        Assert.Contains("binary_tensor_data", metadata.Extensions);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    public async Task Model_metadata_describes_the_input_and_both_outputs(string version)
    {
        var metadata = await _grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "fmnist", Version = version });

        Assert.Equal("fmnist", metadata.Name);
        Assert.Equal(["1"], metadata.Versions);
        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("input", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 1, 28, 28], input.Shape);
        Assert.Equal(["logits", "label"], metadata.Outputs.Select(o => o.Name));
        Assert.Equal(["FP32", "INT64"], metadata.Outputs.Select(o => o.Datatype));
        Assert.Equal([-1L, 10], metadata.Outputs[0].Shape);
        Assert.Equal([-1L], metadata.Outputs[1].Shape);
    }

    [Fact]
    public async Task Model_ready_answers_for_the_model_and_NOT_FOUND_for_others()
    {
        Assert.True((await _grpc.ModelReadyAsync(new ModelReadyRequest { Name = "fmnist" })).Ready);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.ModelReadyAsync(new ModelReadyRequest { Name = "mnist" }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("unknown model 'mnist'", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mnist", "", "unknown model 'mnist'; this gateway serves 'fmnist'")]
    [InlineData("fmnist", "2", "unknown version '2' of model 'fmnist'; this gateway serves version 1")]
    public async Task Metadata_of_an_unknown_model_or_version_is_NOT_FOUND(string name, string version, string expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = name, Version = version }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal(expected, error.Status.Detail);
    }

    [Fact]
    public async Task Infer_with_fp32_contents_and_with_raw_input_contents_gets_the_labels_of_the_REST_path()
    {
        const int start = 800;
        var pixels = TestSet.Value.Slice(start, Images).ToArray();
        using var rest = await fixture.Http.PostAsync("/v2/models/fmnist/infer", new StringContent(InferRequestParserTests.Body(
            shape: $"[{Images},1,28,28]", data: InferRequestParserTests.Flat(pixels), parameters: """{"mode":"none"}"""), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        var restLabels = (await GatewayEndToEndTests.JsonAsync(rest)).GetProperty("outputs").EnumerateArray()
            .Single(o => o.GetProperty("name").GetString() == "label").GetProperty("data").EnumerateArray().Select(l => l.GetInt64()).ToArray();

        var fp32 = Request(Images, id: "grpc-1");
        fp32.Inputs[0].Contents = new InferTensorContents();
        fp32.Inputs[0].Contents.Fp32Contents.AddRange(pixels);
        var raw = Request(Images, id: "grpc-2");
        raw.RawInputContents.Add(ByteString.CopyFrom(GatewayBinaryTests.Bytes(pixels)));

        foreach (var (request, id) in new[] { (fp32, "grpc-1"), (raw, "grpc-2") })
        {
            var response = await _grpc.ModelInferAsync(request);

            Assert.Equal(("fmnist", "1", id), (response.ModelName, response.ModelVersion, response.Id));
            Assert.Equal(["logits", "label"], response.Outputs.Select(o => o.Name));
            Assert.Equal(["FP32", "INT64"], response.Outputs.Select(o => o.Datatype));
            Assert.Equal([(long)Images, 10], response.Outputs[0].Shape);
            Assert.Equal([(long)Images], response.Outputs[1].Shape);
            Assert.Equal(2, response.RawOutputContents.Count);
            var logits = MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span).ToArray();
            var labels = MemoryMarshal.Cast<byte, long>(response.RawOutputContents[1].Span).ToArray();
            Assert.Equal(Images * 10, logits.Length);
            Assert.Equal(restLabels, labels);
            for (var i = 0; i < Images; i++)
            {
                Assert.Equal(labels[i], ArgMax(logits.AsSpan(i * 10, 10)));
            }

            Assert.True(labels.Where((l, i) => l == TestSet.Value.Labels[start + i]).Count() >= 6, "most test images are classified correctly");
            Assert.Equal("none", response.Parameters["mode"].StringParam);
            Assert.Equal(Images, response.Parameters["served_by"].StringParam.Split(',').Length);
        }
    }

    [Fact]
    public async Task Infer_returns_only_the_outputs_asked_for()
    {
        var request = Request(1);
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[784 * 4]));
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "label" });

        var response = await _grpc.ModelInferAsync(request);

        Assert.Equal("label", Assert.Single(response.Outputs).Name);
        Assert.Equal(8, Assert.Single(response.RawOutputContents).Length);
    }

    [Fact]
    public async Task Infer_on_an_unknown_model_is_NOT_FOUND()
    {
        var request = Request(1);
        request.ModelName = "resnet50";
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[784 * 4]));

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.ModelInferAsync(request));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("unknown model 'resnet50'; this gateway serves 'fmnist'", error.Status.Detail);
    }

    public static TheoryData<string, string> MalformedRequests() => new()
    {
        { "shape", "input \"input\" has shape [1,784]; expected [N,1,28,28]" },
        { "datatype", "input \"input\" has datatype 'UINT8'; expected FP32" },
        { "name", "unknown input 'pixels'; the model's input is named \"input\"" },
        { "no-inputs", "request has no \"inputs\"" },
        { "raw-size", "input \"input\" has 3000 bytes in raw_input_contents[0] but shape [1,1,28,28] of FP32 needs 3136 bytes" },
        { "fp32-count", "input \"input\" has 2 values in contents.fp32_contents but shape [1,1,28,28] needs 784" },
        { "no-values", "input \"input\" has no values; send them in contents.fp32_contents or raw_input_contents" },
        { "both", "input \"input\" has both contents and raw_input_contents" },
        { "nan", "input \"input\" raw_input_contents[0][3] is NaN; pixels must be finite numbers in [0, 1]" },
        { "bright", "input \"input\" contents.fp32_contents[7] is 1.5; pixels must be finite numbers in [0, 1]" },
        { "mode", "unknown serving mode 'fastest' in parameters.mode" },
        { "output", "unknown output 'features' in outputs[0]; the model has \"logits\" and \"label\"" },
        { "batch", "batch size N = 257, above this gateway's maximum of 256" },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task A_malformed_request_is_INVALID_ARGUMENT_naming_the_problem(string problem, string expected)
    {
        var request = Request(1);
        var image = new float[784];
        switch (problem)
        {
            case "shape":
                request.Inputs[0].Shape.Clear();
                request.Inputs[0].Shape.AddRange([1, 784]);
                break;
            case "datatype":
                request.Inputs[0].Datatype = "UINT8";
                break;
            case "name":
                request.Inputs[0].Name = "pixels";
                break;
            case "no-inputs":
                request.Inputs.Clear();
                break;
            case "raw-size":
                request.RawInputContents.Add(ByteString.CopyFrom(new byte[3000]));
                break;
            case "fp32-count":
                request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 0.5f, 0.5f } };
                break;
            case "no-values":
                break;
            case "both":
                request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { image } };
                request.RawInputContents.Add(ByteString.CopyFrom(new byte[784 * 4]));
                break;
            case "nan":
                image[3] = float.NaN;
                request.RawInputContents.Add(ByteString.CopyFrom(GatewayBinaryTests.Bytes(image)));
                break;
            case "bright":
                image[7] = 1.5f;
                request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { image } };
                break;
            case "mode":
                request.Parameters["mode"] = new InferParameter { StringParam = "fastest" };
                request.RawInputContents.Add(ByteString.CopyFrom(new byte[784 * 4]));
                break;
            case "output":
                request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "features" });
                request.RawInputContents.Add(ByteString.CopyFrom(new byte[784 * 4]));
                break;
            case "batch":
                request.Inputs[0].Shape[0] = 257;
                break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(expected, error.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>An infer request for <paramref name="count"/> images (values to be added by the caller).</summary>
    private static ModelInferRequest Request(int count, string id = "")
    {
        var request = new ModelInferRequest { ModelName = "fmnist", Id = id };
        request.Parameters["mode"] = new InferParameter { StringParam = "none" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        input.Shape.AddRange([count, 1, 28, 28]);
        request.Inputs.Add(input);
        return request;
    }

    private static long ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
