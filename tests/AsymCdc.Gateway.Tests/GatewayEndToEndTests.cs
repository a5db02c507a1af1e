using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Inference.Data;

namespace AsymCdc.Gateway.Tests;

/// <summary>The Open Inference Protocol endpoints over real Kestrel, in front of a real Orleans cluster
/// serving the repository's ONNX models.</summary>
[Collection(GatewayClusterCollection.Name)]
public sealed class GatewayEndToEndTests(GatewayClusterFixture fixture)
{
    private const int Images = 8;
    private static readonly Lazy<FashionMnistSet> TestSet = new(() => FashionMnist.LoadTestSet());
    private readonly HttpClient _http = fixture.Http;

    [Fact]
    public async Task Live_answers_200()
    {
        using var response = await _http.GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/v2")]
    [InlineData("/v2/")]
    public async Task Server_metadata_names_the_server(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var metadata = await JsonAsync(response);
        Assert.Equal("asymcdc", metadata.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Array, metadata.GetProperty("extensions").ValueKind);
    }

    [Theory]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2/models/fmnist/ready")]
    [InlineData("/v2/models/fmnist/versions/1/ready")]
    public async Task Ready_answers_200_when_the_cluster_answers(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await JsonAsync(response)).GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("/v2/models/fmnist")]
    [InlineData("/v2/models/fmnist/versions/1")]
    public async Task Model_metadata_describes_the_input_and_both_outputs(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var metadata = await JsonAsync(response);

        Assert.Equal("fmnist", metadata.GetProperty("name").GetString());
        Assert.Equal(["1"], metadata.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime_onnx", metadata.GetProperty("platform").GetString());
        var input = Assert.Single(metadata.GetProperty("inputs").EnumerateArray());
        AssertTensor(input, "input", "FP32", [-1, 1, 28, 28]);
        var outputs = metadata.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(2, outputs.Length);
        AssertTensor(outputs[0], "logits", "FP32", [-1, 10]);
        AssertTensor(outputs[1], "label", "INT64", [-1]);
    }

    [Theory]
    [InlineData("/v2/models/mnist", "unknown model 'mnist'")]
    [InlineData("/v2/models/mnist/ready", "unknown model 'mnist'")]
    [InlineData("/v2/models/fmnist/versions/2", "unknown version '2' of model 'fmnist'")]
    public async Task An_unknown_model_or_version_is_404_naming_it(string path, string expected)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(expected, (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_on_an_unknown_model_is_404()
    {
        using var response = await PostAsync("/v2/models/mnist/infer", Body(0, Images));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("unknown model 'mnist'", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_classifies_a_batch_of_test_images_with_the_default_mode()
    {
        using var response = await PostAsync("/v2/models/fmnist/infer", Body(0, Images, id: "batch-1"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await JsonAsync(response);

        Assert.Equal("fmnist", answer.GetProperty("model_name").GetString());
        Assert.Equal("1", answer.GetProperty("model_version").GetString());
        Assert.Equal("batch-1", answer.GetProperty("id").GetString());
        var labels = AssertPredictions(answer, 0, Images);
        Assert.Equal("auto", answer.GetProperty("parameters").GetProperty("mode").GetString());
        AssertMostlyCorrect(labels, 0);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("hedged")]
    [InlineData("replication")]
    [InlineData("parm")]
    [InlineData("approxifer")]
    [InlineData("asymcdc-exact")]
    [InlineData("asymcdc-compact")]
    public async Task Infer_serves_every_mode_named_in_parameters(string mode)
    {
        const int start = 100;
        using var response = await PostAsync("/v2/models/fmnist/versions/1/infer", Body(start, Images, mode: mode));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await JsonAsync(response);

        Assert.Equal(mode, answer.GetProperty("parameters").GetProperty("mode").GetString());
        AssertMostlyCorrect(AssertPredictions(answer, start, Images), start);
    }

    [Fact]
    public async Task Nested_data_gets_the_same_labels_as_flat_data()
    {
        const int start = 200;
        var pixels = TestSet.Value.Slice(start, Images).ToArray();
        using var flat = await PostAsync("/v2/models/fmnist/infer", Body(start, Images, mode: "none"));
        using var nested = await PostAsync("/v2/models/fmnist/infer", InferRequestParserTests.Body(
            shape: $"[{Images},1,28,28]", data: InferRequestParserTests.Nested(pixels, Images), parameters: """{"mode":"none"}"""));

        Assert.Equal(HttpStatusCode.OK, nested.StatusCode);
        Assert.Equal(Labels(await JsonAsync(flat)), Labels(await JsonAsync(nested)));
    }

    [Fact]
    public async Task Infer_returns_only_the_outputs_asked_for()
    {
        var body = Body(300, 2).Replace("{\"inputs\"", "{\"outputs\":[{\"name\":\"label\"}],\"inputs\"", StringComparison.Ordinal);
        using var response = await PostAsync("/v2/models/fmnist/infer", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var output = Assert.Single((await JsonAsync(response)).GetProperty("outputs").EnumerateArray());
        Assert.Equal("label", output.GetProperty("name").GetString());
    }

    public static TheoryData<string, string> MalformedRequests()
    {
        var image = InferRequestParserTests.Flat(new float[784]);
        var tooBright = InferRequestParserTests.Flat(new float[784]).Replace("[0", "[1.5", StringComparison.Ordinal);
        return new()
        {
            { "{\"inputs\": [", "request body is not valid JSON" },
            { "{\"id\":\"x\"}", "request has no \"inputs\"" },
            { InferRequestParserTests.Body(name: "pixels", data: image), "unknown input 'pixels'; the model's input is named \"input\"" },
            { InferRequestParserTests.Body(datatype: "UINT8", data: image), "input \"input\" has datatype 'UINT8'; expected FP32" },
            { InferRequestParserTests.Body(shape: "[1,784]", data: image), "input \"input\" has shape [1,784]; expected [N,1,28,28]" },
            { InferRequestParserTests.Body(data: "[0.5,0.5]"), "input \"input\" has 2 values in \"data\" but shape [1,1,28,28] needs 784" },
            { InferRequestParserTests.Body(data: tooBright), "input \"input\" data[0] is 1.5; pixels must be finite numbers in [0, 1]" },
            { InferRequestParserTests.Body(data: image.Replace("[0", "[\"NaN\"", StringComparison.Ordinal)), "input \"input\" data[0] is NaN; pixels must be finite numbers in [0, 1]" },
            { InferRequestParserTests.Body(data: image.Replace("[0", "[1e40", StringComparison.Ordinal)), "data[0] is outside the FP32 range" },
            { InferRequestParserTests.Body(shape: "[0,1,28,28]"), "batch size N = 0; send at least one image" },
            { InferRequestParserTests.Body(shape: "[257,1,28,28]"), "batch size N = 257, above this gateway's maximum of 256; split the request" },
            { InferRequestParserTests.Body(data: image, parameters: """{"mode":"fastest"}"""), "unknown serving mode 'fastest' in parameters.mode" },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task A_malformed_request_is_400_naming_the_problem(string body, string expected)
    {
        using var response = await PostAsync("/v2/models/fmnist/infer", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_needs_POST()
    {
        using var response = await _http.GetAsync("/v2/models/fmnist/infer");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string body) =>
        _http.PostAsync(path, new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

    /// <summary>Images [start, start + count) of the test set as one FP32 request.</summary>
    private static string Body(int start, int count, string? mode = null, string? id = null)
    {
        var body = InferRequestParserTests.Body(
            shape: $"[{count},1,28,28]",
            data: InferRequestParserTests.Flat(TestSet.Value.Slice(start, count).Span),
            parameters: mode is null ? null : $$"""{"mode":"{{mode}}"}""");
        return id is null ? body : body.Insert(1, $"\"id\":\"{id}\",");
    }

    /// <summary>Checks the response's shape and consistency and returns its labels.</summary>
    private static long[] AssertPredictions(JsonElement answer, int start, int count)
    {
        var outputs = answer.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(2, outputs.Length);
        var logits = outputs[0];
        Assert.Equal("logits", logits.GetProperty("name").GetString());
        Assert.Equal("FP32", logits.GetProperty("datatype").GetString());
        Assert.Equal([count, 10], logits.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var values = logits.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(count * 10, values.Length);

        var label = outputs[1];
        Assert.Equal("label", label.GetProperty("name").GetString());
        Assert.Equal("INT64", label.GetProperty("datatype").GetString());
        Assert.Equal([count], label.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var labels = Labels(answer);
        Assert.Equal(count, labels.Length);
        for (var i = 0; i < count; i++)
        {
            // The label is the argmax of the logits returned with it (whichever way the answer was served).
            Assert.Equal(labels[i], ArgMax(values.AsSpan(i * 10, 10)));
        }

        var parameters = answer.GetProperty("parameters");
        var servedBy = parameters.GetProperty("served_by").EnumerateArray().Select(s => s.GetString()).ToArray();
        Assert.Equal(count, servedBy.Length);
        var known = Enum.GetValues<ServedBy>().Select(s => s.ToName()).ToHashSet();
        Assert.All(servedBy, s => Assert.Contains(s!, known));
        var latencies = parameters.GetProperty("latency_ms").EnumerateArray().Select(l => l.GetDouble()).ToArray();
        Assert.Equal(count, latencies.Length);
        Assert.All(latencies, l => Assert.True(l >= 0, $"latency {l} ms is negative"));
        return labels;
    }

    private static void AssertMostlyCorrect(long[] labels, int start)
    {
        var correct = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            correct += labels[i] == TestSet.Value.Labels[start + i] ? 1 : 0;
        }

        Assert.True(correct >= 6, $"{correct} of {labels.Length} test images classified correctly; expected at least 6");
    }

    private static long[] Labels(JsonElement answer) =>
        answer.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label")
            .GetProperty("data").EnumerateArray().Select(l => l.GetInt64()).ToArray();

    private static int ArgMax(ReadOnlySpan<float> values)
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

    private static void AssertTensor(JsonElement tensor, string name, string datatype, int[] shape)
    {
        Assert.Equal(name, tensor.GetProperty("name").GetString());
        Assert.Equal(datatype, tensor.GetProperty("datatype").GetString());
        Assert.Equal(shape, tensor.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
    }

    internal static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}

/// <summary>Overload and readiness through a real cluster that cannot keep up.</summary>
[Collection(OverloadedClusterCollection.Name)]
public sealed class GatewayOverloadTests(OverloadedClusterFixture fixture)
{
    [Fact]
    public async Task An_overloaded_cluster_is_503_with_Retry_After()
    {
        // Four images at once against one admitted query in flight: the frontend refuses the others as Overloaded.
        var body = InferRequestParserTests.Body(shape: "[4,1,28,28]", data: InferRequestParserTests.Flat(new float[4 * 784]), parameters: """{"mode":"none"}""");
        using var response = await fixture.Http.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);
        Assert.Contains("MaxInFlight", (await GatewayEndToEndTests.JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_is_503_while_the_cluster_does_not_answer_in_time()
    {
        using var response = await fixture.Http.GetAsync("/v2/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.False((await GatewayEndToEndTests.JsonAsync(response)).GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Live_stays_200_while_the_cluster_is_overloaded()
    {
        using var response = await fixture.Http.GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
