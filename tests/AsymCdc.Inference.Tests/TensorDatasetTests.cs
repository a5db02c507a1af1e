using AsymCdc.Inference.Data;

namespace AsymCdc.Inference.Tests;

/// <summary>The digits split that models/train-user-models.sh ships in the tensor-dataset format (models/data/README.md).</summary>
public sealed class TensorDatasetTests
{
    [Theory]
    [InlineData("train", 1347)]
    [InlineData("test", 450)]
    public void The_shipped_digits_split_loads_as_8x8_images_in_0_1(string split, int count)
    {
        var set = TensorDataset.Load(Path.Combine(ModelRepositoryLocator.Find(), "data", "digits", $"{split}.json"));

        Assert.Equal(count, set.Count);
        Assert.Equal([1, 8, 8], set.ItemShape);
        Assert.Equal(10, set.Classes);
        Assert.All(set.Items, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(10, set.Labels.Distinct().Count());
    }

    [Fact]
    public void A_header_with_the_wrong_format_is_refused_naming_it()
    {
        var directory = Directory.CreateTempSubdirectory("asymcdc-dataset-").FullName;
        try
        {
            var header = Path.Combine(directory, "train.json");
            File.WriteAllText(header, """{"format": "npy", "count": 1, "shape": [2], "classes": 2, "images": "i", "labels": "l"}""");

            var e = Assert.Throws<InvalidDataException>(() => TensorDataset.Load(header));

            Assert.Contains("format is 'npy'", e.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
