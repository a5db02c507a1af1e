using AsymCdc.Abstractions;
using AsymCdc.Coding;
using AsymCdc.Inference.Data;

namespace AsymCdc.Grains.Tests;

/// <summary>Several models served side by side by one cluster, through the Orleans client's typed-tensor API, with
/// stragglers (10% of worker calls late by 3 s), so each model's own decoders rebuild its late answers.</summary>
[Collection(StragglerClusterCollection.Name)]
public sealed class MultiModelServingTests(StragglerClusterFixture fixture)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("digits-mlp", ServingMode.AsymCdcCompact)]
    [InlineData("fmnist-cnn", ServingMode.AsymCdcCompact)]
    [InlineData("fmnist-cnn", ServingMode.Parm)]
    [InlineData("digits-mlp", ServingMode.ApproxIfer)]
    public async Task A_user_model_is_served_and_its_late_answers_rebuilt_by_its_own_decoders(string model, ServingMode mode)
    {
        var data = model == "digits-mlp" ? TestSets.Load(TestSets.DigitsName, fixture.Models.Directory) : LabeledSet.From(TestModels.Data, "fmnist/test");
        const int count = 100;
        var shape = data.ItemShape.ToArray();

        var predictions = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            fixture.Client.PredictAsync(model, new Tensor(data.Slice(i, 1).ToArray(), shape), mode).WaitAsync(Limit)));

        Assert.All(predictions, p => Assert.Equal(mode, p.Mode));
        Assert.All(predictions, p => Assert.Equal(10, p.Logits.Length));
        Assert.Contains(predictions, p => p.ServedBy.IsReconstruction());
        var correct = predictions.Where((p, i) => p.Label == data.Labels[i]).Count();
        // digits-mlp is 98% accurate and fmnist-cnn 90% on their own; a few percent of rebuilt answers cost little.
        Assert.True(correct >= (model == "digits-mlp" ? 85 : 75), $"{correct} of {count} correct");
    }

    [Fact]
    public async Task Groups_hold_queries_of_one_model()
    {
        var digits = TestSets.Load(TestSets.DigitsName, fixture.Models.Directory);
        var images = TestModels.Data;
        var calls = Enumerable.Range(0, 60).Select(i => i % 2 == 0
            ? fixture.Client.PredictAsync("digits-mlp", new Tensor(digits.Slice(i, 1).ToArray(), [1, 8, 8]), ServingMode.AsymCdcCompact)
            : fixture.Client.PredictAsync("fmnist-cnn", Tensor.Image(images.Image(i).ToArray()), ServingMode.AsymCdcCompact)).ToArray();

        var predictions = await Task.WhenAll(calls.Select(c => c.WaitAsync(Limit)));

        var digitGroups = predictions.Where((_, i) => i % 2 == 0).Select(p => p.GroupId).ToHashSet();
        var fmnistGroups = predictions.Where((_, i) => i % 2 == 1).Select(p => p.GroupId).ToHashSet();
        Assert.Empty(digitGroups.Intersect(fmnistGroups));
    }

    [Fact]
    public async Task A_mode_a_model_lacks_is_refused_naming_the_missing_companion_and_the_supported_modes()
    {
        var digits = TestSets.Load(TestSets.DigitsName, fixture.Models.Directory);

        var e = await Assert.ThrowsAsync<PredictionException>(() =>
            fixture.Client.PredictAsync("digits-mlp", new Tensor(digits.Slice(0, 1).ToArray(), [1, 8, 8]), ServingMode.Parm));

        Assert.Equal(PredictionErrorCode.ModeNotSupported, e.Code);
        Assert.Contains("it needs a ParM parity model of 'digits-mlp' for k = 2", e.Message);
        Assert.Contains("it supports: none, hedged, replication, approxifer, asymcdc-compact, auto", e.Message);
    }

    [Fact]
    public async Task A_tensor_of_another_models_shape_is_refused()
    {
        var e = await Assert.ThrowsAsync<PredictionException>(() =>
            fixture.Client.PredictAsync("digits-mlp", Tensor.Image(new float[784])));

        Assert.Equal(PredictionErrorCode.InvalidInput, e.Code);
        Assert.Contains("the input has 784 floats; model 'digits-mlp' takes 64 (shape [1,8,8]", e.Message);
    }

    [Fact]
    public void A_model_without_the_default_modes_decoders_is_served_hedged_by_default()
    {
        var plain = new CodedModel
        {
            Name = "plain", InputName = "x", InputShape = [4], Outputs = ["logits"], OutputLengths = [3],
        };
        var withCompact = plain with { Compact = new Dictionary<int, string> { [2] = "plain-compact-k2" }, FeaturesOutput = 0 };

        Assert.Equal(ServingMode.Hedged, plain.DefaultFor(ServingMode.AsymCdcCompact, 2));
        Assert.Equal(ServingMode.AsymCdcCompact, withCompact.DefaultFor(ServingMode.AsymCdcCompact, 2));
        Assert.Equal(ServingMode.Hedged, withCompact.DefaultFor(ServingMode.AsymCdcCompact, 3));
        Assert.Equal([ServingMode.None, ServingMode.Hedged, ServingMode.Replication, ServingMode.ApproxIfer, ServingMode.Auto], plain.Supported(2));
    }
}
