using AsymCdc.Inference.Data;

namespace AsymCdc.Training.Tests;

/// <summary><c>asymcdc train-decoders</c> refuses bad inputs before it trains anything, with a message naming the problem;
/// nothing is written to the repository.</summary>
public sealed class ValidationTests
{
    private const string Model = "digits-mlp";

    private static DecoderTrainingOptions Options(TempRepository repository) => new()
    {
        Model = Model,
        Data = TrainingData.DigitsName,
        Repository = repository.Root,
        Ks = [2],
        Limit = 64,
        Epochs = 1,
        MaxSteps = 1,
        WriteModelCard = false,
    };

    [Fact]
    public async Task An_unknown_feature_output_is_refused_naming_the_model_outputs()
    {
        using var repository = TempRepository.With(Model);

        var e = await Assert.ThrowsAsync<DecoderTrainingException>(() =>
            DecoderTrainer.RunAsync(Options(repository) with { FeatureOutput = "penultimate" }));

        Assert.Contains("no output 'penultimate'", e.Message);
        Assert.Contains("logits [-1,10], features [-1,64]", e.Message);
        Assert.Contains("--feature-output", e.Message);
        AssertNothingInstalled(repository);
    }

    [Fact]
    public async Task An_unknown_logits_output_is_refused()
    {
        using var repository = TempRepository.With(Model);

        var e = await Assert.ThrowsAsync<DecoderTrainingException>(() =>
            DecoderTrainer.RunAsync(Options(repository) with { LogitsOutput = "scores" }));

        Assert.Contains("no output 'scores'", e.Message);
        Assert.Contains("--logits-output", e.Message);
    }

    [Fact]
    public async Task An_unknown_model_is_refused_naming_what_the_repository_has()
    {
        using var repository = TempRepository.With(Model);

        var e = await Assert.ThrowsAsync<DecoderTrainingException>(() =>
            DecoderTrainer.RunAsync(Options(repository) with { Model = "resnet-50" }));

        Assert.Contains("'resnet-50' is not in the model repository", e.Message);
        Assert.Contains("it has: digits-mlp", e.Message);
    }

    [Fact]
    public async Task Data_of_another_shape_than_the_model_input_is_refused_naming_both_shapes()
    {
        using var repository = TempRepository.With(Model);
        var data = repository.PathOf("data-4x4");
        var set = new LabeledSet("small", new float[8 * 16], new byte[8], [1, 4, 4], 10, "test");
        TensorDataset.Write(data, "train", set);
        TensorDataset.Write(data, "test", set);

        var e = await Assert.ThrowsAsync<DecoderTrainingException>(() =>
            DecoderTrainer.RunAsync(Options(repository) with { Data = data }));

        Assert.Contains("items of shape [1,4,4] (16 floats)", e.Message);
        Assert.Contains("input 'input' [-1,1,8,8] (64 floats per item)", e.Message);
        AssertNothingInstalled(repository);
    }

    [Fact]
    public async Task Empty_data_is_refused()
    {
        using var repository = TempRepository.With(Model);
        var data = repository.PathOf("empty");
        TensorDataset.Write(data, "train", new LabeledSet("empty", [], [], [1, 8, 8], 10, "test"));
        TensorDataset.Write(data, "test", new LabeledSet("empty", new float[4 * 64], new byte[4], [1, 8, 8], 10, "test"));

        var e = await Assert.ThrowsAsync<DecoderTrainingException>(() =>
            DecoderTrainer.RunAsync(Options(repository) with { Data = data }));

        Assert.Contains("training split", e.Message);
        Assert.Contains("holds no examples", e.Message);
    }

    [Fact]
    public async Task A_data_folder_that_does_not_exist_is_refused()
    {
        using var repository = TempRepository.With(Model);

        var e = await Assert.ThrowsAsync<DecoderTrainingException>(() =>
            DecoderTrainer.RunAsync(Options(repository) with { Data = repository.PathOf("nowhere") }));

        Assert.Contains("neither fmnist, digits nor a folder", e.Message);
    }

    [Fact]
    public void Contradicting_or_impossible_options_are_named()
    {
        var options = new DecoderTrainingOptions { Model = Model, Data = "digits", FeatureOutput = "features", LogitsOnly = true, Ks = [2, 9], Epochs = 0 };

        var problems = string.Join("\n", options.Problems());

        Assert.Contains("--feature-output features and --logits-only contradict", problems);
        Assert.Contains("k = 9 is outside 2..8", problems);
        Assert.Contains("--epochs 0", problems);
        Assert.Throws<ArgumentException>(() => DecoderTrainingOptions.ParseKs("2,x", "-k"));
    }

    [Fact]
    public void A_tensor_dataset_round_trips_and_a_bad_one_is_named()
    {
        var directory = Directory.CreateTempSubdirectory("asymcdc-dataset-").FullName;
        try
        {
            var set = new LabeledSet("x", [0f, 0.5f, 1f, 0.25f, 0.75f, 1f], [1, 2], [3], 3, "made up");
            var header = TensorDataset.Write(directory, "train", set);

            var read = TensorDataset.Load(header);

            Assert.Equal(set.Items, read.Items);
            Assert.Equal(set.Labels, read.Labels);
            Assert.Equal([3], read.ItemShape);
            File.WriteAllBytes(Path.Combine(directory, "train-labels.u8"), [1]);
            var e = Assert.Throws<InvalidDataException>(() => TensorDataset.Load(header));
            Assert.Contains("holds 1 labels", e.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void AssertNothingInstalled(TempRepository repository) =>
        Assert.Equal([Model], Directory.EnumerateDirectories(repository.Root).Select(Path.GetFileName).Where(n => n!.StartsWith("digits", StringComparison.Ordinal)));
}
