using AsymCdc.Coding;

namespace AsymCdc.Inference.Tests;

/// <summary>Grouping a repository's models into served classifiers with their companions: the shipped repository, and
/// hand-written configs for what must stop start-up.</summary>
public sealed class CodedModelsTests
{
    [Fact]
    public void The_shipped_repository_serves_three_classifiers_with_their_companions()
    {
        using var repository = ModelRepository.Open(TestModels.Options());
        var served = repository.Served.ToDictionary(m => m.Name);

        Assert.Equal(["digits-mlp", "fmnist-cnn", "fmnist-inn"], served.Keys.Order());
        var inn = served["fmnist-inn"];
        Assert.Equal("fmnist", inn.PublicName);
        Assert.Same(inn, repository.FindServed("fmnist"));
        Assert.Equal("fmnist-inn-inverse", inn.Inverse);
        Assert.Equal([2, 3, 4], inn.Compact.Keys.Order());
        Assert.Equal([2, 4], inn.Parity.Keys.Order());
        Assert.Equal((0f, 1f), inn.InputRange);
        Assert.Equal([1, 28, 28], inn.InputShape);
        Assert.Equal((0, 1, 10), (inn.LogitsOutput, inn.FeaturesOutput, inn.Classes));

        var cnn = served["fmnist-cnn"];
        Assert.Null(cnn.Inverse);
        Assert.Equal([2, 3, 4], cnn.Compact.Keys.Order());
        Assert.Equal([2], cnn.Parity.Keys.Order());
        Assert.Equal(1, cnn.FeaturesOutput);

        // Its decoders read the logits (it was trained with --logits-only).
        var digits = served["digits-mlp"];
        Assert.Equal([1, 8, 8], digits.InputShape);
        Assert.Equal(digits.LogitsOutput, digits.FeaturesOutput);
        Assert.Equal("digits", digits.Dataset);
    }

    [Fact]
    public void What_a_model_lacks_for_a_mode_is_named()
    {
        using var repository = ModelRepository.Open(TestModels.Options());
        var cnn = repository.FindServed("fmnist-cnn")!;
        var digits = repository.FindServed("digits-mlp")!;

        Assert.Null(cnn.MissingFor(null, 4));
        Assert.Null(cnn.MissingFor(DecoderKind.ApproxIfer, 4));
        Assert.Null(cnn.MissingFor(DecoderKind.Compact, 4));
        Assert.Contains("an inverse of 'fmnist-cnn'", cnn.MissingFor(DecoderKind.Exact, 2));
        Assert.Contains("a ParM parity model of 'fmnist-cnn' for k = 4", cnn.MissingFor(DecoderKind.Parm, 4));
        Assert.Null(digits.MissingFor(DecoderKind.Compact, 2));
        Assert.Contains("a compact decoder of 'digits-mlp' for groups of 3", digits.MissingFor(DecoderKind.Compact, 3));
        // The inverse backs up compact decoding for any group size.
        Assert.Null(repository.FindServed("fmnist")!.MissingFor(DecoderKind.Compact, 8));
    }

    [Fact]
    public void A_companion_whose_classifier_is_not_loaded_is_left_out()
    {
        using var repository = ModelRepository.Open(TestModels.Options("digits-mlp", "fmnist-cnn-compact-k2"));

        var only = Assert.Single(repository.Served);
        Assert.Equal("digits-mlp", only.Name);
    }

    [Fact]
    public void Two_companions_of_one_role_and_k_stop_start_up()
    {
        var configs = new[]
        {
            Classifier("m", []),
            Companion("m-a", ModelRole.CompactDecoder, "m", 2),
            Companion("m-b", ModelRole.CompactDecoder, "m", 2),
        };

        var error = Assert.Throws<ModelRepositoryException>(() => CodedModels.From(configs));

        Assert.Contains("Model 'm' cannot be served: it has two compact decoders for k = 2, 'm-a' and 'm-b'", error.Message);
    }

    [Fact]
    public void An_alias_that_is_another_models_name_stops_start_up()
    {
        var error = Assert.Throws<ModelRepositoryException>(() => CodedModels.From([Classifier("m", ["n"]), Classifier("n", [])]));

        Assert.Contains("its alias 'n' is already the name of model 'n'", error.Message);
    }

    [Fact]
    public void A_decoder_reading_an_output_the_classifier_lacks_stops_start_up()
    {
        var error = Assert.Throws<ModelRepositoryException>(() =>
            CodedModels.From([Classifier("m", []), Companion("m-c", ModelRole.CompactDecoder, "m", 2) with { ServesOutput = "z" }]));

        Assert.Contains("its decoders read output 'z', which it does not have (outputs: logits, features)", error.Message);
    }

    private static ModelConfig Classifier(string name, string[] aliases) =>
        new(name, ModelRole.Classifier, ModelConfig.OnnxPlatform, 8, null,
            [new TensorConfig("input", TensorConfig.Float32, [-1, 4])],
            [new TensorConfig("logits", TensorConfig.Float32, [-1, 3]), new TensorConfig("features", TensorConfig.Float32, [-1, 5])])
        { Aliases = aliases };

    private static ModelConfig Companion(string name, ModelRole role, string serves, int k) =>
        new(name, role, ModelConfig.OnnxPlatform, 8, k,
            [new TensorConfig("features", TensorConfig.Float32, [-1, 5 * k])], [new TensorConfig("logits", TensorConfig.Float32, [-1, 3])])
        { Serves = serves, ServesOutput = "features" };
}
