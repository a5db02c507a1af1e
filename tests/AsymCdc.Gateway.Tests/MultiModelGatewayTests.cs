using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using AsymCdc.Gateway.KServe;
using AsymCdc.Hosting;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace AsymCdc.Gateway.Tests;

/// <summary>A real cluster serving every classifier of the repository — our Fashion-MNIST INN, the stand-in user CNN
/// and the 8×8 digits MLP — behind <c>asymcdc serve</c>'s own web host (<see cref="LocalClusterGateway"/>: HTTP and gRPC,
/// the gateway's catalogue taken from the repository), as one <c>serve</c> process runs them.</summary>
public sealed class MultiModelClusterFixture : IAsyncLifetime
{
    private LocalCluster? _cluster;
    private Microsoft.AspNetCore.Builder.WebApplication? _serve;
    private GrpcChannel? _channel;

    internal LocalCluster Cluster => _cluster!;

    internal HttpClient Http { get; private set; } = null!;

    internal GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Generous deadlines: these tests compare answers with the models run directly, so reconstructions stay rare.
        var options = ClusterOptions.Create(workers: 3);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = "00:00:02";
        options.Settings["AsymCdc:Serving:RequestTimeout"] = "00:00:30";
        _cluster = await LocalCluster.StartAsync(options);
        var ports = FreePorts.Take(2);
        _serve = LocalClusterGateway.Build(_cluster, $"http://127.0.0.1:{ports[0]}", grpcUrl: $"http://127.0.0.1:{ports[1]}");
        await _serve.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[0]}") };
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports[1]}");
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        _channel?.Dispose();
        if (_serve is not null)
        {
            await _serve.StopAsync();
            await _serve.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class MultiModelClusterCollection : ICollectionFixture<MultiModelClusterFixture>
{
    public const string Name = "gateway over a multi-model cluster";
}

[Collection(MultiModelClusterCollection.Name)]
public sealed class MultiModelGatewayTests(MultiModelClusterFixture fixture, ITestOutputHelper output)
{
    private const int Inputs = 200;
    private const int Batch = 25;

    /// <summary>Served name, repository name, item shape and test data of each served model.</summary>
    public static TheoryData<string, string, int[], string> Models() => new()
    {
        { "fmnist", "fmnist-inn", [1, 28, 28], TestSets.FashionMnistName },
        { "fmnist-cnn", "fmnist-cnn", [1, 28, 28], TestSets.FashionMnistName },
        { "digits-mlp", "digits-mlp", [1, 8, 8], TestSets.DigitsName },
    };

    [Fact]
    public async Task The_repository_index_and_metadata_list_every_served_model()
    {
        using var index = await fixture.Http.PostAsync("/v2/repository/index", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        using var listed = JsonDocument.Parse(await index.Content.ReadAsStringAsync());
        Assert.Equal(["digits-mlp", "fmnist", "fmnist-cnn"],
            listed.RootElement.EnumerateArray().Select(m => m.GetProperty("name").GetString()).Order());

        using var metadata = JsonDocument.Parse(await fixture.Http.GetStringAsync("/v2/models/digits-mlp"));
        var input = metadata.RootElement.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal([-1, 1, 8, 8], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var grpc = await fixture.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "fmnist-cnn" });
        Assert.Equal([-1L, 1, 28, 28], grpc.Inputs[0].Shape);
        Assert.Equal(["logits", "label"], grpc.Outputs.Select(o => o.Name));
        Assert.True((await fixture.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "digits-mlp" })).Ready);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Json_binary_and_grpc_infer_return_the_models_own_prediction(string served, string repositoryName, int[] shape, string dataset)
    {
        var data = TestSets.Load(dataset, fixture.Cluster.Models.Directory);
        Assert.Equal(shape, data.ItemShape);
        var itemLength = data.ItemLength;
        var inputs = data.Slice(0, Inputs).ToArray();
        var own = await OwnLabelsAsync(fixture.Cluster.Models, repositoryName, inputs);
        var shapeText = string.Join(',', shape);

        var json = new long[Inputs];
        var binary = new long[Inputs];
        var grpc = new long[Inputs];
        var rebuilt = new[] { new bool[Inputs], new bool[Inputs], new bool[Inputs] }; // JSON, binary, gRPC
        for (var start = 0; start < Inputs; start += Batch)
        {
            var batch = inputs.AsSpan(start * itemLength, Batch * itemLength).ToArray();

            using var jsonResponse = await fixture.Http.PostAsync($"/v2/models/{served}/infer", new StringContent(
                $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[{{{Batch}}},{{{shapeText}}}],"data":[{{{Flat(batch)}}}]}]}""",
                Encoding.UTF8, "application/json"));
            var answer = await jsonResponse.Content.ReadAsStringAsync();
            Assert.True(jsonResponse.StatusCode == HttpStatusCode.OK, answer);
            using (var document = JsonDocument.Parse(answer))
            {
                Assert.Equal(served, document.RootElement.GetProperty("model_name").GetString());
                var logits = Output(document.RootElement, "logits");
                Assert.Equal([Batch, 10], logits.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
                var labels = Output(document.RootElement, "label");
                Assert.Equal([Batch], labels.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
                labels.GetProperty("data").EnumerateArray().Select(l => l.GetInt64()).ToArray().CopyTo(json, start);
                Rebuilt(document.RootElement).CopyTo(rebuilt[0], start);
            }

            var header = $$$"""
                {"inputs":[{"name":"input","datatype":"FP32","shape":[{{{Batch}}},{{{shapeText}}}],"parameters":{"binary_data_size":{{{batch.Length * 4}}}}}],
                 "outputs":[{"name":"logits","parameters":{"binary_data":true}},{"name":"label","parameters":{"binary_data":true}}]}
                """;
            using var binaryResponse = await fixture.Http.PostAsync($"/v2/models/{served}/infer", GatewayBinaryTests.Binary(header, GatewayBinaryTests.Bytes(batch)));
            Assert.Equal(HttpStatusCode.OK, binaryResponse.StatusCode);
            var body = await binaryResponse.Content.ReadAsByteArrayAsync();
            var jsonLength = int.Parse(binaryResponse.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
            Assert.Equal(jsonLength + (Batch * 10 * 4) + (Batch * 8), body.Length);
            MemoryMarshal.Cast<byte, long>(body.AsSpan(jsonLength + (Batch * 10 * 4))).ToArray().CopyTo(binary, start);
            using (var binaryHeader = JsonDocument.Parse(body.AsMemory(0, jsonLength)))
            {
                Rebuilt(binaryHeader.RootElement).CopyTo(rebuilt[1], start);
            }

            var request = new ModelInferRequest { ModelName = served };
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
            tensor.Shape.AddRange([Batch, .. shape.Select(d => (long)d)]);
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(ByteString.CopyFrom(GatewayBinaryTests.Bytes(batch)));
            var response = await fixture.Grpc.ModelInferAsync(request);
            Assert.Equal([(long)Batch, 10], response.Outputs[0].Shape);
            Assert.Equal([(long)Batch], response.Outputs[1].Shape);
            MemoryMarshal.Cast<byte, long>(response.RawOutputContents[1].Span).ToArray().CopyTo(grpc, start);
            response.Parameters["served_by"].StringParam.Split(',').Select(IsReconstruction).ToArray().CopyTo(rebuilt[2], start);
        }

        // Answers the model computed must be its own prediction; a reconstruction (the default mode rebuilds the
        // slowest answers, without stragglers too) is the documented approximation and only bounds the whole.
        foreach (var (protocol, labels, reconstructed) in new[] { ("HTTP JSON", json, rebuilt[0]), ("HTTP binary", binary, rebuilt[1]), ("gRPC", grpc, rebuilt[2]) })
        {
            var computed = Enumerable.Range(0, Inputs).Where(i => !reconstructed[i]).ToList();
            var computedAgreement = computed.Count(i => labels[i] == own[i]) / (double)computed.Count;
            var agreement = labels.Zip(own).Count(p => p.First == p.Second) / (double)Inputs;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{served} over {protocol}: argmax agreement with the model run directly {agreement:0.000} on {Inputs} test inputs, {computedAgreement:0.000} on the {computed.Count} not reconstructed"));
            Assert.True(computedAgreement >= 0.995, $"{served} over {protocol}: the computed answers agree {computedAgreement:0.000} < 0.995");
            Assert.True(agreement >= 0.95, $"{served} over {protocol}: agreement {agreement:0.000} < 0.95 ({Inputs - computed.Count} reconstructed)");
        }
    }

    private static bool IsReconstruction(string servedBy) =>
        servedBy is "reconstructed-exact" or "reconstructed-compact" or "parm" or "approxifer";

    private static bool[] Rebuilt(JsonElement response) =>
        [.. response.GetProperty("parameters").GetProperty("served_by").EnumerateArray().Select(s => IsReconstruction(s.GetString()!))];

    [Fact]
    public async Task An_input_of_another_models_shape_is_refused_over_both_protocols()
    {
        var image = new float[784];
        using var response = await fixture.Http.PostAsync("/v2/models/digits-mlp/infer", new StringContent(
            $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"data":[{{{Flat(image)}}}]}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("expected [N,1,8,8]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var request = new ModelInferRequest { ModelName = "digits-mlp" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        tensor.Shape.AddRange([1, 1, 28, 28]);
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(ByteString.CopyFrom(GatewayBinaryTests.Bytes(image)));
        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Grpc.ModelInferAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Grpc.ModelInferAsync(new ModelInferRequest { ModelName = "resnet50" }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown model 'resnet50'; this gateway serves 'digits-mlp', 'fmnist-cnn', 'fmnist'", unknown.Status.Detail);
        using var missing = await fixture.Http.PostAsync("/v2/models/resnet50/infer", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_mode_the_model_has_no_companion_for_is_refused_naming_what_is_missing()
    {
        var pixels = new float[64];
        using var response = await fixture.Http.PostAsync("/v2/models/digits-mlp/infer", new StringContent(
            $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,8,8],"data":[{{{Flat(pixels)}}}]}],"parameters":{"mode":"asymcdc-exact"}}""",
            Encoding.UTF8, "application/json"));

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("model 'digits-mlp' cannot be served with mode 'asymcdc-exact' at k = 2: it needs an inverse of 'digits-mlp'", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repository_without_the_product_model_serves_its_own_and_becomes_ready()
    {
        // A user's repository: their classifier and its decoder, no Fashion-MNIST model.
        var repository = Directory.CreateTempSubdirectory("asymcdc-user-repository-").FullName;
        try
        {
            foreach (var name in (string[])["digits-mlp", "digits-mlp-compact-k2"])
            {
                CopyDirectory(Path.Combine(fixture.Cluster.Models.Directory, name), Path.Combine(repository, name));
            }

            var options = ClusterOptions.Create(workers: 3);
            options.ModelRepository = repository;
            await using var cluster = await LocalCluster.StartAsync(options);
            var port = FreePorts.Take(1)[0];
            await using var serve = LocalClusterGateway.Build(cluster, $"http://127.0.0.1:{port}");
            await serve.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            // The gateway's readiness probe predicts with the catalogue's own model.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while ((await http.GetAsync("/v2/health/ready", timeout.Token)).StatusCode != HttpStatusCode.OK)
            {
                await poll.WaitForNextTickAsync(timeout.Token);
            }

            var index = await (await http.PostAsync("/v2/repository/index", new StringContent("{}"), timeout.Token)).Content.ReadAsStringAsync(timeout.Token);
            Assert.Equal("""[{"name":"digits-mlp","version":"1","state":"READY"}]""", index);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v2/models/fmnist", timeout.Token)).StatusCode);
            await serve.StopAsync();
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>The model's own labels: the repository's session run directly, in chunks below its max batch size.</summary>
    private static async Task<long[]> OwnLabelsAsync(ModelRepository models, string name, float[] inputs)
    {
        var model = models.Get(name);
        var logitsOutput = models.FindServed(name)!.LogitsOutput;
        var labels = new long[inputs.Length / model.InputLength];
        for (var start = 0; start < labels.Length; start += 100)
        {
            var count = Math.Min(100, labels.Length - start);
            var outputs = await model.RunAsync(inputs.AsMemory(start * model.InputLength, count * model.InputLength), count);
            var classes = model.OutputLengths[logitsOutput];
            for (var i = 0; i < count; i++)
            {
                var row = outputs[logitsOutput].AsSpan(i * classes, classes);
                labels[start + i] = row.IndexOf(TensorMax(row));
            }
        }

        return labels;
    }

    private static float TensorMax(ReadOnlySpan<float> values)
    {
        var max = values[0];
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }

        return max;
    }

    private static string Flat(float[] values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static JsonElement Output(JsonElement answer, string name) =>
        answer.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);
}
