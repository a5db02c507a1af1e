using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using FsCheck;
using FsCheck.Fluent;

namespace AsymCdc.Reliability.Tests;

/// <summary>One malformed request, the error code it must get and a fragment its message must carry.</summary>
public sealed record BadRequest(string Kind, PredictionRequest Request, PredictionErrorCode Expected, string MessageFragment)
{
    public override string ToString() => $"{Kind}: input length {Request.Input?.Data?.Length.ToString() ?? "null"}, model '{Request.Model}', "
        + $"mode {(Request.Mode is { } m ? (int)m : -1)}, timeout {Request.Timeout}; expect {Expected} with '{MessageFragment}'";
}

public static class BadRequests
{
    private static readonly float[] s_valid = [.. Enumerable.Range(0, PredictionRequest.InputLength).Select(i => (i % 256) / 255f)];

    private static PredictionRequest Valid() => new((float[])s_valid.Clone());

    private static float[] WithPixel(int index, float value)
    {
        var pixels = (float[])s_valid.Clone();
        pixels[index] = value;
        return pixels;
    }

    private static Gen<int> Index => Gen.Choose(0, PredictionRequest.InputLength - 1);

    /// <summary>Every kind of bad input the brief names: wrong shapes (empty, short, long, a whole batch in one
    /// request), NaN/±∞, pixels outside [0, 1], unknown model or mode, no input, a non-positive timeout.</summary>
    public static Gen<BadRequest> Any { get; } = Gen.OneOf(
        Gen.Choose(0, 4 * PredictionRequest.InputLength).Where(n => n != PredictionRequest.InputLength)
            .Select(n => new BadRequest("wrong shape", new PredictionRequest(new float[n]), PredictionErrorCode.InvalidInput, $"has {n} floats; model 'fmnist' takes 784")),
        Gen.Choose(2, 64).Select(batch => new BadRequest("huge batch", new PredictionRequest(new float[batch * PredictionRequest.InputLength]),
            PredictionErrorCode.InvalidInput, $"has {batch * PredictionRequest.InputLength} floats")),
        Gen.Constant(new BadRequest("no input", new PredictionRequest((Tensor)null!), PredictionErrorCode.InvalidInput, "no input")),
        Index.SelectMany(_ => Gen.Elements(float.NaN, float.PositiveInfinity, float.NegativeInfinity), (i, v) =>
            new BadRequest("non-finite", Valid() with { Input = Tensor.Image(WithPixel(i, v)) }, PredictionErrorCode.InvalidInput, $"input[{i}] is")),
        Index.SelectMany(_ => Gen.Elements(-1e30f, -255f, -1f, -1e-3f, 1.001f, 2f, 255f, 1e30f), (i, v) =>
            new BadRequest("out of range", Valid() with { Input = Tensor.Image(WithPixel(i, v)) }, PredictionErrorCode.InvalidInput, $"input[{i}] =")),
        Gen.Elements("", " ", "FMNIST", "fmnist-inn-inverse", "fmnist-parm-k2", "resnet50", "../models/fmnist-inn", "fmnist\0")
            .Select(name => new BadRequest("unknown model", Valid() with { Model = name }, PredictionErrorCode.UnknownModel, $"unknown model '{name}'")),
        Gen.OneOf(Gen.Choose(8, int.MaxValue), Gen.Choose(int.MinValue, -1))
            .Select(mode => new BadRequest("unknown mode", Valid() with { Mode = (ServingMode)mode }, PredictionErrorCode.UnknownMode, $"unknown serving mode {mode}")),
        Gen.Choose(-100_000, 0).Select(ms => new BadRequest("non-positive timeout", Valid() with { Timeout = TimeSpan.FromMilliseconds(ms) },
            PredictionErrorCode.InvalidInput, "is not positive")));
}

/// <summary>A shared in-process cluster (a frontend and three worker silos, real ONNX models).</summary>
public sealed class FuzzClusterFixture : IAsyncLifetime
{
    public LocalCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await LocalCluster.StartAsync(new LocalClusterOptions { Workers = 3, ModelRepository = TestEnvironment.ModelRepository });

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>10,000 generated bad requests through the Orleans client into a real cluster: each is refused with its own
/// error code and a message naming the problem, and the cluster still answers a valid request afterwards.</summary>
public sealed class FuzzTests(FuzzClusterFixture fixture) : IClassFixture<FuzzClusterFixture>
{
    private const int BatchSize = 50;

    [Fact]
    public async Task Ten_thousand_bad_requests_are_each_refused_clearly_and_a_valid_one_is_answered_afterwards()
    {
        var client = new AsymCdcClient(fixture.Cluster.Client);
        var kinds = new Dictionary<string, int>();

        // 200 generated batches of 50 bad requests, each batch sent concurrently: 10,000 requests in all.
        var property = Prop.ForAll(Gen.ArrayOf(BadRequests.Any, BatchSize).ToArbitrary(), batch =>
        {
            foreach (var bad in batch)
            {
                kinds[bad.Kind] = kinds.GetValueOrDefault(bad.Kind) + 1;
            }

            Task.WhenAll(batch.Select(bad => AssertRefusedAsync(client, bad))).GetAwaiter().GetResult();
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(10_000 / BatchSize), property);

        Assert.Equal(10_000, kinds.Values.Sum());
        Assert.All(kinds, k => Assert.True(k.Value > 100, $"only {k.Value} requests of kind '{k.Key}'"));
        var prediction = await client.PredictAsync(TestEnvironment.Image(0), ServingMode.AsymCdcCompact, TimeSpan.FromSeconds(30));
        Assert.InRange(prediction.Label, 0, PredictionRequest.Classes - 1);
        Assert.Equal(PredictionRequest.Classes, prediction.Logits.Length);
    }

    private static async Task AssertRefusedAsync(AsymCdcClient client, BadRequest bad)
    {
        var refused = await Assert.ThrowsAsync<PredictionException>(() => client.PredictAsync(bad.Request));
        Assert.True(bad.Expected == refused.Code, $"{bad}: got {refused.Code} ({refused.Message})");
        Assert.True(refused.Message.Contains(bad.MessageFragment, StringComparison.Ordinal), $"{bad}: got '{refused.Message}'");
        Assert.False(refused.IsRetryable);
    }
}
