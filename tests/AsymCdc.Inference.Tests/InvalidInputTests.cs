namespace AsymCdc.Inference.Tests;

[Collection(RepositoryCollection.Name)]
public sealed class InvalidInputTests(RepositoryFixture fixture)
{
    private AsymCdc.Coding.IModelFunction Classifier => fixture.Repository.Get(ModelNames.Classifier);

    [Fact]
    public async Task Wrong_input_length_is_rejected_naming_the_model_and_the_expected_length()
    {
        var error = await Assert.ThrowsAsync<InvalidModelInputException>(() => Classifier.RunAsync(new float[700], 1).AsTask());

        Assert.Equal(ModelNames.Classifier, error.ModelName);
        Assert.Contains("'fmnist-inn' expects 784 floats per item", error.Message);
        Assert.Contains("got 700 floats for 1 item(s)", error.Message);
    }

    [Fact]
    public async Task A_batch_above_max_batch_size_is_rejected()
    {
        var error = await Assert.ThrowsAsync<InvalidModelInputException>(() => Classifier.RunAsync(new float[257 * 784], 257).AsTask());

        Assert.Contains("a batch of 257 items is above its max_batch_size of 256", error.Message);
    }

    [Fact]
    public async Task A_count_below_one_is_rejected()
    {
        var error = await Assert.ThrowsAsync<InvalidModelInputException>(() => Classifier.RunAsync(ReadOnlyMemory<float>.Empty, 0).AsTask());

        Assert.Contains("count is 0", error.Message);
    }

    [Fact]
    public void An_unknown_model_is_refused_naming_what_is_loaded()
    {
        var error = Assert.Throws<ModelRepositoryException>(() => fixture.Repository.Get("fmnist-resnet"));

        Assert.Equal("fmnist-resnet", error.ModelName);
        Assert.Contains("Model 'fmnist-resnet' is not available", error.Message);
        Assert.Contains(ModelNames.Classifier, error.Message);
    }
}
