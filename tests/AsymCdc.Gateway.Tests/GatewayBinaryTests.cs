using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using AsymCdc.Inference.Data;

namespace AsymCdc.Gateway.Tests;

/// <summary>The binary tensor data extension (Triton's clients' default for arrays) over real Kestrel and a real cluster:
/// the same answers as the JSON path, and a 400 naming the problem when the sizes do not add up.</summary>
[Collection(GatewayClusterCollection.Name)]
public sealed class GatewayBinaryTests(GatewayClusterFixture fixture)
{
    private const int Images = 8;
    private const string Header = "Inference-Header-Content-Length";
    private static readonly Lazy<FashionMnistSet> TestSet = new(() => FashionMnist.LoadTestSet());
    private readonly HttpClient _http = fixture.Http;

    [Theory]
    [InlineData("/v2/models/fmnist/infer")]
    [InlineData("/v2/models/fmnist/versions/1/infer")]
    public async Task Binary_infer_returns_the_declared_shapes_and_the_labels_of_the_JSON_path(string path)
    {
        const int start = 600;
        var pixels = TestSet.Value.Slice(start, Images).ToArray();
        using var json = await _http.PostAsync(path, new StringContent(InferRequestParserTests.Body(
            shape: $"[{Images},1,28,28]", data: InferRequestParserTests.Flat(pixels), parameters: """{"mode":"none"}"""), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var jsonAnswer = await GatewayEndToEndTests.JsonAsync(json);
        var jsonLogits = Output(jsonAnswer, "logits").GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var jsonLabels = Output(jsonAnswer, "label").GetProperty("data").EnumerateArray().Select(v => v.GetInt64()).ToArray();

        var header = $$$"""
            {"id":"bin-1","inputs":[{"name":"input","datatype":"FP32","shape":[{{{Images}}},1,28,28],"parameters":{"binary_data_size":{{{Images * 784 * 4}}}}}],
             "outputs":[{"name":"logits","parameters":{"binary_data":true}},{"name":"label","parameters":{"binary_data":true}}],
             "parameters":{"mode":"none"}}
            """;
        using var binary = await _http.PostAsync(path, Binary(header, Bytes(pixels)));

        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        Assert.Equal("application/octet-stream", binary.Content.Headers.ContentType?.MediaType);
        var (answer, tail) = await SplitAsync(binary);
        Assert.Equal("bin-1", answer.GetProperty("id").GetString());
        var logits = Output(answer, "logits");
        var label = Output(answer, "label");
        Assert.Equal([Images, 10], logits.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([Images], label.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.False(logits.TryGetProperty("data", out _));
        Assert.Equal(Images * 10 * 4, logits.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(Images * 8, label.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal((Images * 10 * 4) + (Images * 8), tail.Length);

        // Outputs follow the JSON in the order the JSON lists them: logits (FP32), then label (INT64), little-endian.
        var binaryLogits = MemoryMarshal.Cast<byte, float>(tail.AsSpan(0, Images * 10 * 4)).ToArray();
        var binaryLabels = MemoryMarshal.Cast<byte, long>(tail.AsSpan(Images * 10 * 4)).ToArray();
        Assert.Equal(jsonLabels, binaryLabels);
        for (var i = 0; i < Images; i++)
        {
            Assert.Equal(binaryLabels[i], ArgMax(binaryLogits.AsSpan(i * 10, 10)));
        }

        Assert.Equal(jsonLogits.Length, binaryLogits.Length);
        Assert.All(jsonLogits.Zip(binaryLogits), pair => Assert.Equal(pair.First, pair.Second, 3));
        Assert.True(binaryLabels.Where((l, i) => l == TestSet.Value.Labels[start + i]).Count() >= 6, "most test images are classified correctly");
    }

    [Fact]
    public async Task Binary_data_output_makes_every_output_binary_unless_an_output_says_otherwise()
    {
        var pixels = TestSet.Value.Slice(700, 2).ToArray();
        var body = $$$"""
            {"inputs":[{"name":"input","datatype":"FP32","shape":[2,1,28,28],"data":{{{InferRequestParserTests.Flat(pixels)}}}}],
             "outputs":[{"name":"logits"},{"name":"label","parameters":{"binary_data":false}}],
             "parameters":{"mode":"none","binary_data_output":true}}
            """;
        using var response = await _http.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (answer, tail) = await SplitAsync(response);
        Assert.Equal(2 * 10 * 4, Output(answer, "logits").GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        var labels = Output(answer, "label").GetProperty("data").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        Assert.Equal(2 * 10 * 4, tail.Length);
        var logits = MemoryMarshal.Cast<byte, float>(tail).ToArray();
        Assert.Equal(labels, new[] { ArgMax(logits.AsSpan(0, 10)), ArgMax(logits.AsSpan(10, 10)) });
    }

    [Fact]
    public async Task Without_binary_outputs_the_answer_is_plain_JSON_even_for_a_binary_request()
    {
        var header = """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"parameters":{"binary_data_size":3136}}],"parameters":{"mode":"none"}}""";
        using var response = await _http.PostAsync("/v2/models/fmnist/infer", Binary(header, Bytes(new float[784])));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains(Header));
        Assert.Equal(10, Output(await GatewayEndToEndTests.JsonAsync(response), "logits").GetProperty("data").GetArrayLength());
    }

    public static TheoryData<string, byte[], string?, string> MalformedBinaryRequests()
    {
        static string Input(long size, string shape = "[1,1,28,28]") =>
            $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":{{{shape}}},"parameters":{"binary_data_size":{{{size}}}}}]}""";
        var image = Bytes(new float[784]);
        var nan = new float[784];
        nan[5] = float.NaN;
        return new()
        {
            { Input(3000), image, null, "input \"input\" has parameters.binary_data_size = 3000 but shape [1,1,28,28] of FP32 needs 3136 bytes" },
            { Input(3136, "[2,1,28,28]"), image, null, "has parameters.binary_data_size = 3136 but shape [2,1,28,28] of FP32 needs 6272 bytes" },
            { Input(3136), image[..3000], null, "the body has 3000 bytes after its" },
            { Input(3136), [.. image, .. image], null, "the body has 6272 bytes after its" },
            { Input(3136), Bytes(nan), null, "input \"input\" binary data[5] is NaN; pixels must be finite numbers in [0, 1]" },
            { Input(3136), image, "100000", "Inference-Header-Content-Length is 100000 but the body has" },
            { Input(3136), image, "ten", "Inference-Header-Content-Length is 'ten'" },
            { Input(3136, "[1,784]"), image, null, "input \"input\" has shape [1,784]; expected [N,1,28,28]" },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBinaryRequests))]
    public async Task A_malformed_binary_request_is_400_naming_the_problem(string header, byte[] binary, string? headerLength, string expected)
    {
        using var response = await _http.PostAsync("/v2/models/fmnist/infer", Binary(header, binary, headerLength));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, (await GatewayEndToEndTests.JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_data_size_without_the_header_is_400_naming_the_header()
    {
        var body = """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"parameters":{"binary_data_size":3136}}]}""";
        using var response = await _http.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("the request has no Inference-Header-Content-Length header", (await GatewayEndToEndTests.JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_binary_request_for_an_unknown_model_is_404()
    {
        var header = """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"parameters":{"binary_data_size":3136}}]}""";
        using var response = await _http.PostAsync("/v2/models/resnet50/infer", Binary(header, Bytes(new float[784])));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("unknown model 'resnet50'; this gateway serves 'fmnist'", (await GatewayEndToEndTests.JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>The JSON header, then the raw bytes, with the header's length in <c>Inference-Header-Content-Length</c>
    /// (or <paramref name="headerLength"/> as given), as Triton's HTTP client sends it.</summary>
    internal static HttpContent Binary(string json, byte[] binary, string? headerLength = null)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var content = new ByteArrayContent([.. header, .. binary]);
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.TryAddWithoutValidation(Header, headerLength ?? header.Length.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>Values as little-endian float32 (this machine's order, which the test asserts).</summary>
    internal static byte[] Bytes(ReadOnlySpan<float> values)
    {
        Assert.True(BitConverter.IsLittleEndian);
        return MemoryMarshal.AsBytes(values).ToArray();
    }

    /// <summary>A binary-extension response: its JSON (the first Inference-Header-Content-Length bytes) and the rest.</summary>
    private static async Task<(JsonElement Json, byte[] Tail)> SplitAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var length = int.Parse(response.Headers.GetValues(Header).Single(), CultureInfo.InvariantCulture);
        using var document = JsonDocument.Parse(body.AsMemory(0, length));
        return (document.RootElement.Clone(), body[length..]);
    }

    private static JsonElement Output(JsonElement answer, string name) =>
        answer.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);

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
