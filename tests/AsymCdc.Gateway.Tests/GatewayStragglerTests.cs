using System.Net;
using System.Text;
using System.Text.Json;
using AsymCdc.Inference.Data;

namespace AsymCdc.Gateway.Tests;

/// <summary>What a caller sees when a worker straggles: the coded modes still answer every image on time,
/// and <c>served_by</c> says which answers were rebuilt.</summary>
[Collection(StragglingClusterCollection.Name)]
public sealed class GatewayStragglerTests(StragglingClusterFixture fixture)
{
    private const int Images = 8;
    private const int Start = 400;

    [Fact]
    public async Task The_exact_decoder_rebuilds_the_straggler_s_answers_and_says_so()
    {
        var pixels = FashionMnist.LoadTestSet().Slice(Start, Images).ToArray();
        var coded = await InferAsync(pixels, "asymcdc-exact");
        var direct = await InferAsync(pixels, "none");

        // 3 workers and k = 2: every group uses every worker, so the slowed one holds data queries of some group.
        var servedBy = coded.GetProperty("parameters").GetProperty("served_by").EnumerateArray().Select(s => s.GetString()).ToArray();
        Assert.Contains("reconstructed-exact", servedBy);
        Assert.All(servedBy, s => Assert.True(s is "direct" or "reconstructed-exact", $"unexpected served_by '{s}'"));

        // The exact decoder recomputes the missing query itself, so every label equals the model's own answer.
        Assert.Equal(Labels(direct), Labels(coded));
    }

    private async Task<JsonElement> InferAsync(float[] pixels, string mode)
    {
        var body = InferRequestParserTests.Body(
            shape: $"[{Images},1,28,28]", data: InferRequestParserTests.Flat(pixels), parameters: $$"""{"mode":"{{mode}}"}""");
        using var response = await fixture.Http.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await GatewayEndToEndTests.JsonAsync(response);
    }

    private static long[] Labels(JsonElement answer) =>
        [.. answer.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label")
            .GetProperty("data").EnumerateArray().Select(l => l.GetInt64())];
}
