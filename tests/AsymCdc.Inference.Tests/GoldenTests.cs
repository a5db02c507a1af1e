namespace AsymCdc.Inference.Tests;

[Collection(RepositoryCollection.Name)]
public sealed class GoldenTests(RepositoryFixture fixture)
{
    public static TheoryData<string> Models => new(TestModels.All);

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Model_reproduces_its_golden_outputs_within_tolerance(string name)
    {
        var result = await GoldenCheck.RunAsync(fixture.Repository.GetFunction(name));

        Assert.Equal(name, result.Model);
        Assert.True(result.Passed, $"{name} output '{result.WorstOutput}' differs from golden.json by {result.MaxAbsDiff} > {result.Tolerance}");
    }

    [Fact]
    public void Repository_loads_every_model_with_the_documented_shapes()
    {
        var repository = fixture.Repository;
        Assert.Equal([.. TestModels.All.Order(StringComparer.Ordinal)], repository.Models.Select(m => m.Name));

        var classifier = repository.Get(ModelNames.Classifier);
        Assert.Equal(784, classifier.InputLength);
        Assert.Equal([10, 784], classifier.OutputLengths);
        Assert.Equal([784], repository.Get(ModelNames.Inverse).OutputLengths);
        for (var k = ModelNames.MinK; k <= ModelNames.MaxK; k++)
        {
            var compact = repository.GetFunction(ModelNames.Compact(k));
            Assert.Equal(k * 784, compact.InputLength);
            Assert.Equal(k, compact.Config.K);
            Assert.Equal(ModelRole.CompactDecoder, compact.Config.Role);
        }
    }
}
