using System.Text.Json;

namespace AsymCdc.Inference.Tests;

[Collection(RepositoryCollection.Name)]
public sealed class GoldenTests(RepositoryFixture fixture)
{
    public static TheoryData<string> Models => new(TestModels.All);

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Model_reproduces_its_golden_outputs_within_tolerance(string name)
    {
        var function = fixture.Repository.GetFunction(name);
        using var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(function.ModelPath)!, "golden.json")));
        var tolerance = golden.RootElement.GetProperty("tolerance").GetSingle();
        var input = golden.RootElement.GetProperty("inputs").GetProperty(function.Config.Input.Name);
        var count = input.GetProperty("shape")[0].GetInt32();

        var outputs = await function.RunAsync(Floats(input.GetProperty("data")), count);

        for (var o = 0; o < function.Config.Outputs.Count; o++)
        {
            var expected = Floats(golden.RootElement.GetProperty("outputs").GetProperty(function.Config.Outputs[o].Name).GetProperty("data"));
            Assert.Equal(expected.Length, outputs[o].Length);
            var worst = 0f;
            for (var i = 0; i < expected.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(expected[i] - outputs[o][i]));
            }

            Assert.True(worst <= tolerance, $"{name} output '{function.Config.Outputs[o].Name}' differs from golden.json by {worst} > {tolerance}");
        }
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

    private static float[] Floats(JsonElement array)
    {
        var values = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var v in array.EnumerateArray())
        {
            values[i++] = v.GetSingle();
        }

        return values;
    }
}
