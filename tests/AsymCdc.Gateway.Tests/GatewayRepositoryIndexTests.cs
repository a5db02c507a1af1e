using System.Net;
using System.Text;
using System.Text.Json;

namespace AsymCdc.Gateway.Tests;

/// <summary>The repository extension's index, <c>POST /v2/repository/index</c>, over a real cluster.</summary>
[Collection(GatewayClusterCollection.Name)]
public sealed class GatewayRepositoryIndexTests(GatewayClusterFixture fixture)
{
    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("""{"ready":true}""")]
    [InlineData("""{"ready":false,"repository_name":"x"}""")]
    public async Task The_index_lists_every_model_version_ready(string body)
    {
        using var response = await fixture.Http.PostAsync("/v2/repository/index", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var entry = Assert.Single((await GatewayEndToEndTests.JsonAsync(response)).EnumerateArray());
        Assert.Equal("fmnist", entry.GetProperty("name").GetString());
        Assert.Equal("1", entry.GetProperty("version").GetString());
        Assert.Equal("READY", entry.GetProperty("state").GetString());
        Assert.False(entry.TryGetProperty("reason", out _));
    }

    [Theory]
    [InlineData("[1]", "must be empty or a JSON object")]
    [InlineData("""{"ready":"yes"}""", "\"ready\" in a repository index request must be true or false")]
    [InlineData("{", "not valid JSON")]
    public async Task A_malformed_index_request_is_400(string body, string expected)
    {
        using var response = await fixture.Http.PostAsync("/v2/repository/index", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (await GatewayEndToEndTests.JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_index_needs_POST()
    {
        using var response = await fixture.Http.GetAsync("/v2/repository/index");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Server_metadata_names_the_extensions()
    {
        using var response = await fixture.Http.GetAsync("/v2");
        var extensions = (await GatewayEndToEndTests.JsonAsync(response)).GetProperty("extensions").EnumerateArray().Select(e => e.GetString());
        Assert.Equal(["binary_tensor_data", "model_repository"], extensions);
    }
}

/// <summary>The index of a cluster that does not answer in time: the models are listed UNAVAILABLE with a reason.</summary>
[Collection(OverloadedClusterCollection.Name)]
public sealed class GatewayRepositoryIndexUnavailableTests(OverloadedClusterFixture fixture)
{
    [Fact]
    public async Task Models_are_unavailable_while_the_cluster_does_not_answer()
    {
        using var all = await fixture.Http.PostAsync("/v2/repository/index", new StringContent("", Encoding.UTF8, "application/json"));
        var entry = Assert.Single((await GatewayEndToEndTests.JsonAsync(all)).EnumerateArray());
        Assert.Equal("UNAVAILABLE", entry.GetProperty("state").GetString());
        Assert.Contains("does not answer", entry.GetProperty("reason").GetString(), StringComparison.Ordinal);

        using var ready = await fixture.Http.PostAsync("/v2/repository/index", new StringContent("""{"ready":true}""", Encoding.UTF8, "application/json"));
        var readyOnes = await GatewayEndToEndTests.JsonAsync(ready);
        Assert.Equal(JsonValueKind.Array, readyOnes.ValueKind);
        Assert.Equal(0, readyOnes.GetArrayLength());
    }
}
