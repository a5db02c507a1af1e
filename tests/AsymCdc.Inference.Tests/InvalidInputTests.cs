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

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public async Task Non_finite_input_is_rejected_naming_where_it_is(float bad)
    {
        var input = new float[2 * 784];
        input[784 + 300] = bad;

        var error = await Assert.ThrowsAsync<InvalidModelInputException>(() => Classifier.RunAsync(input, 2).AsTask());

        Assert.Contains("fmnist-inn", error.Message);
        Assert.Contains("at item 1, position 300 is not finite", error.Message);
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

    [Theory]
    [InlineData(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 }, -1)]
    [InlineData(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, float.NaN }, 16)]
    [InlineData(new float[] { float.NegativeInfinity, 2, 3 }, 0)]
    [InlineData(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, float.PositiveInfinity, 10, 11, 12, 13, 14, 15, 16, 17 }, 8)]
    public void IndexOfNonFinite_finds_the_first_bad_value_in_vector_lanes_and_the_tail(float[] values, int expected)
    {
        Assert.Equal(expected, OnnxModelFunction.IndexOfNonFinite(values));
    }
}
